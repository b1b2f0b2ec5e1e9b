import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { POWERTOOLS_ENV } from '../lambdas/core/telemetry';

/**
 * How every Lockbox handler is bundled: one esbuild configuration for both paths that make a
 * bundle, so they cannot drift apart —
 * - the repository (`lib/` run from source): CDK's `NodejsFunction` bundles at synth;
 * - the package: `scripts/build-lambdas.ts` bundles once at `npm pack`, into
 *   `dist/lambdas/<handler>/index.mjs`, and the construct deploys those files as they are.
 * No aws-cdk-lib import, so the build script loads quickly.
 */
export const LAMBDA_BUNDLE = {
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // @middy/core is ESM-only; a few CommonJS dependencies still call require().
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  // Bundle the AWS SDK too: the version the tests ran, not the runtime's.
  external: [] as string[],
} as const;

/**
 * The environment every function starts with (the bench runs its cold imports with it too):
 * stack traces point at the TypeScript sources (Node reads the source map as the bundle loads,
 * which costs init time: see docs/adr/0011-bundling.md), and Powertools' service and metrics
 * namespace (lambdas/core/observability.ts).
 */
export const LAMBDA_ENVIRONMENT = { NODE_OPTIONS: '--enable-source-maps', ...POWERTOOLS_ENV } as const;

/** The bundle's file name: `.mjs`, so Node loads it as ESM (`index.handler`). */
export const BUNDLE_FILE = 'index.mjs';

/**
 * The prebuilt bundle of a handler, when this code runs from the package (`dist/lib/` next to
 * `dist/lambdas/<handler>/`). Running from the repository's source there is none, by design: a
 * leftover bundle from an earlier build must never be deployed instead of the current source.
 */
export function prebuiltBundle(handler: string): string | undefined {
  const dir = join(__dirname, '..', 'lambdas', handler);
  return existsSync(join(dir, BUNDLE_FILE)) ? dir : undefined;
}
