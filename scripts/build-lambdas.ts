import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildResult, build } from 'esbuild';
import { BUNDLE_FILE, LAMBDA_BUNDLE } from '../lib/bundling';

/**
 * Bundles every handler in `lambdas/handlers/` the way the deployment runs it (`lib/bundling.ts`):
 * `<outDir>/<handler>/index.mjs` and its source map. The package ships these (`dist/lambdas/`),
 * so a CDK app that installs Lockbox needs no esbuild, lock file or devDependencies.
 *
 * Importable (the bench measures the bundle as CDK deploys it):
 *   `await buildLambdas({ outDir })` → `{ handler, file, bytes }[]`;
 * or run: `tsx scripts/build-lambdas.ts [outDir]` (default `dist/lambdas`).
 */
const ROOT = resolve(__dirname, '..');
const HANDLERS_DIR = join(ROOT, 'lambdas', 'handlers');

export interface BuiltLambda {
  handler: string;
  /** The bundle's path. */
  file: string;
  /** Its size in bytes (without the source map). */
  bytes: number;
}

/** The handlers: every `.ts` file of `lambdas/handlers/`, by file name without extension. */
export const handlerNames = (): string[] =>
  readdirSync(HANDLERS_DIR)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => file.slice(0, -3))
    .sort();

export async function buildLambdas(options: { outDir?: string; handlers?: readonly string[] } = {}): Promise<BuiltLambda[]> {
  const outDir = resolve(options.outDir ?? join(ROOT, 'dist', 'lambdas'));
  const handlers = options.handlers ?? handlerNames();
  const results = await Promise.all(
    handlers.map(async (handler): Promise<BuiltLambda> => {
      const file = join(outDir, handler, BUNDLE_FILE);
      const result: BuildResult<{ metafile: true }> = await build({
        entryPoints: [join(HANDLERS_DIR, `${handler}.ts`)],
        outfile: file,
        bundle: true,
        platform: 'node',
        absWorkingDir: ROOT,
        metafile: true,
        logLevel: 'warning',
        format: LAMBDA_BUNDLE.format,
        target: LAMBDA_BUNDLE.target,
        minify: LAMBDA_BUNDLE.minify,
        sourcemap: LAMBDA_BUNDLE.sourcemap,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        banner: { js: LAMBDA_BUNDLE.banner },
        external: [...LAMBDA_BUNDLE.external],
      });
      const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(BUNDLE_FILE));
      return { handler, file, bytes: output?.[1].bytes ?? 0 };
    }),
  );
  return results;
}

if (require.main === module) {
  buildLambdas({ outDir: process.argv[2] }).then(
    (built) => {
      for (const { handler, bytes } of built) console.log(`${handler.padEnd(16)} ${(bytes / 1024).toFixed(0).padStart(6)} KB`);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
