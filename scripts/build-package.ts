import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { STATE_MACHINE_FILE } from '../lambdas/core/workflow-definition';
import { buildLambdas } from './build-lambdas';

/**
 * Builds the npm package into `dist/` (run by `npm run build:package` and `prepack`):
 * 1. `tsc -p tsconfig.build.json`: the construct (`dist/lib/`), the CLI (`dist/bin/`, `dist/cli/`)
 *    and the Lambda code they import, as CommonJS with `.d.ts`;
 * 2. the handlers prebuilt by esbuild into `dist/lambdas/<handler>/index.mjs`;
 * 3. the state machine's ASL file next to them, where the construct reads it.
 */
const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist');
const CLI = join(DIST, 'bin', 'lockbox-cli.js');

async function main() {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const built = await buildLambdas({ outDir: join(DIST, 'lambdas') });
  cpSync(join(ROOT, STATE_MACHINE_FILE), join(DIST, STATE_MACHINE_FILE));
  if (existsSync(CLI)) {
    const text = readFileSync(CLI, 'utf8');
    if (!text.startsWith('#!')) writeFileSync(CLI, `#!/usr/bin/env node\n${text}`);
    chmodSync(CLI, 0o755);
  }
  console.log(`dist/: construct, ${existsSync(CLI) ? 'CLI, ' : ''}${built.length} prebuilt handlers, ${STATE_MACHINE_FILE}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
