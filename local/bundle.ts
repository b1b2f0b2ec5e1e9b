import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

/**
 * The handlers as Lambda runs them: each `lambdas/handlers/*.ts` bundled by esbuild into one file
 * for Node 22. Local mode loads these bundles, never the TypeScript sources: the bundle is what is
 * deployed, and `@middy/core` (ESM-only) can only be loaded this way in this CommonJS package.
 *
 * Where it differs from the deployment's bundling (lib/lockbox-function.ts): CommonJS instead of
 * ESM, so that it can be `require`d; not minified; and the AWS SDK v3 is left out and resolved from
 * node_modules — the same version the deployment bundles, but one copy shared by all functions.
 * Bundling it nine times costs two more seconds at every start. The X-Ray SDK is shared the same
 * way: in its automatic mode each copy installs its own async hook (cls-hooked) on every promise of
 * the process, where a deployed function has one (local mode runs it in manual mode anyway).
 *
 * Files are written only when their content changed, each by an atomic rename, so several local
 * modes starting at once (parallel test suites) never read a half-written bundle.
 */
export const HANDLERS_DIR = join('lambdas', 'handlers');
export const BUNDLE_DIR = join('.lockbox-local', 'bundle');

export interface Bundles {
  /** Handler name (file name without `.ts`) → absolute path of its bundle. */
  files: Record<string, string>;
  /** How many files were rewritten (0 = the previous bundle was still fresh). */
  written: number;
}

export async function bundleHandlers(root: string): Promise<Bundles> {
  const handlersDir = join(root, HANDLERS_DIR);
  const names = (await readdir(handlersDir)).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')).sort();
  const outdir = join(root, BUNDLE_DIR);
  const result = await build({
    absWorkingDir: root,
    entryPoints: names.map((file) => join(handlersDir, file)),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    mainFields: ['module', 'main'], // as the deployment resolves dependencies
    external: ['@aws-sdk/*', 'aws-xray-sdk-core'],
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'silent',
  });
  await mkdir(outdir, { recursive: true });
  let written = 0;
  await Promise.all(
    result.outputFiles.map(async (file) => {
      const current = await readFile(file.path).catch(() => undefined);
      if (current && Buffer.compare(current, Buffer.from(file.contents)) === 0) return;
      const temporary = `${file.path}.${process.pid}.tmp`;
      await writeFile(temporary, file.contents);
      await rename(temporary, file.path);
      written++;
    }),
  );
  const files = Object.fromEntries(names.map((file) => [basename(file, '.ts'), join(outdir, `${basename(file, '.ts')}.js`)]));
  return { files, written };
}
