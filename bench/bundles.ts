/**
 * The deployed handlers' bundles and cold starts, side by side with a floor:
 * - each `lambdas/handlers/*.ts` bundled with the deployment's esbuild options (`LAMBDA_BUNDLE`
 *   in lib/bundling.ts: what `NodejsFunction` and the package's prebuilt bundles both use);
 * - its floor: a bundle that imports only the same AWS SDK clients (read from the handler
 *   bundle's inputs) and does nothing;
 * - for reference (not the goal): the floor plus Powertools as every handler wires it
 *   (`observed()` of lambdas/core/observability.ts: Logger, Metrics, Tracer with aws-xray-sdk-core,
 *   middy), so the figures show how much of what is left above the floor is Powertools;
 * - cold init: a fresh Node process importing the bundle (as Lambda's init does), median of N
 *   runs, handler and floors interleaved so all see the same machine. Two clocks: wall time, and
 *   the CPU time of the import (init is CPU-bound; on a shared, loaded machine the wall time also
 *   counts time spent waiting for a core, the CPU time much less).
 * Goal: cold init at most 1.2x the floor (the SDK clients alone).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { BUNDLE_FILE, LAMBDA_BUNDLE, LAMBDA_ENVIRONMENT } from '../lib/bundling';

/**
 * What a deployed function's environment holds at init (no table names: config is read on use):
 * the runtime's variables and every function's own (`LAMBDA_ENVIRONMENT`: `--enable-source-maps`
 * included, so the handler's source map is read as on Lambda; the floor has none to read).
 */
const LAMBDA_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'lockbox-bench',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  ...LAMBDA_ENVIRONMENT,
  // The console reads its settings when it loads (the others read theirs on first use).
  CONSOLE_BASE_URL: 'https://lockbox.example/v1',
  CONSOLE_ISSUER: 'https://issuer.example',
  CONSOLE_CLIENT_ID: 'lockbox',
  CONSOLE_CLIENT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:lockbox-console',
  CONSOLE_GROUPS_CLAIM: 'groups',
  CONSOLE_SESSION_SIGNER: 'kms',
  CONSOLE_SESSION_KMS_KEY: 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000',
  CONSOLE_IDLE_TIMEOUT: 'PT15M',
  CONSOLE_ABSOLUTE_TIMEOUT: 'PT8H',
};

export interface BundleFigure {
  handler: string;
  bytes: number;
  mapBytes: number;
  clients: string[];
  floorBytes: number;
  /** Wall and CPU milliseconds of the cold import: the handler, its floor, the floor plus Powertools (reference only). */
  coldMs: Timing;
  floorMs: Timing;
  poweredMs: Timing;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** The deployment's esbuild options (as scripts/build-lambdas.ts passes them). */
const OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: LAMBDA_BUNDLE.format,
  target: LAMBDA_BUNDLE.target,
  minify: LAMBDA_BUNDLE.minify,
  sourcemap: LAMBDA_BUNDLE.sourcemap,
  sourcesContent: LAMBDA_BUNDLE.sourcesContent,
  mainFields: [...LAMBDA_BUNDLE.mainFields],
  banner: { js: LAMBDA_BUNDLE.banner },
  external: [...LAMBDA_BUNDLE.external],
  logLevel: 'silent',
};

/** The AWS SDK packages a bundle contains (`@aws-sdk/client-*`, `@aws-sdk/lib-dynamodb`). */
function sdkClients(metafile: Metafile): string[] {
  const packages = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /node_modules\/(@aws-sdk\/(?:client-[\w-]+|lib-dynamodb))\//.exec(input);
    if (match?.[1]) packages.add(match[1]);
  }
  return [...packages].sort();
}

/**
 * Source of a bundle that keeps each package's client class and does nothing with it; `powered`:
 * inside the handlers' Powertools middlewares.
 */
function floorSource(root: string, packages: string[], powered = false): string {
  const lines = packages.map((name, i) => {
    const exports = Object.keys(require(require.resolve(name, { paths: [root] })) as object);
    const client = exports.find((key) => key.endsWith('Client') && !key.startsWith('__'));
    if (!client) throw new Error(`${name} exports no client class`);
    return `import { ${client} as C${i} } from '${name}';`;
  });
  const body = `async () => [${packages.map((_, i) => `C${i}`).join(', ')}].length`;
  if (!powered) return `${lines.join('\n')}\nexport const handler = ${body};\n`;
  const observability = JSON.stringify(join(root, 'lambdas', 'core', 'observability'));
  return `${lines.join('\n')}\nimport { observed } from ${observability};\nexport const handler = observed().handler(${body});\n`;
}

/** Milliseconds a fresh Node process spends importing `file`: wall clock, and CPU (user + system). */
function coldImport(file: string): Timing {
  const script = `const t = performance.now(); const c = process.cpuUsage(); await import(${JSON.stringify(pathToFileURL(file).href)}); const u = process.cpuUsage(c); process.stdout.write(JSON.stringify({ wall: performance.now() - t, cpu: (u.user + u.system) / 1000 }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...LAMBDA_ENV },
    encoding: 'utf8',
  });
  if (run.status !== 0)
    throw new Error(
      `importing ${file} failed: ${run.stderr
        .split('\n')
        .filter((line) => line.startsWith('Error'))
        .join(' ')}`,
    );
  return JSON.parse(run.stdout) as Timing;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const medians = (timings: Timing[]): Timing => ({ wall: median(timings.map((t) => t.wall)), cpu: median(timings.map((t) => t.cpu)) });

/** Every handler of `lambdas/handlers/`, or only those named in `only`. */
export async function measureBundles(root: string, runs: number, only: readonly string[] = []): Promise<BundleFigure[]> {
  const handlersDir = join(root, 'lambdas', 'handlers');
  const handlers = (await readdir(handlersDir))
    .filter((file) => file.endsWith('.ts') && (only.length === 0 || only.includes(basename(file, '.ts'))))
    .sort();
  const out = await mkdtemp(join(tmpdir(), 'lockbox-bench-'));
  const options = OPTIONS;
  try {
    const figures: BundleFigure[] = [];
    for (const file of handlers) {
      const handler = basename(file, '.ts');
      const dir = join(out, handler);
      const outfile = join(dir, BUNDLE_FILE);
      const built = await build({
        ...options,
        absWorkingDir: root,
        entryPoints: [join(handlersDir, file)],
        outfile,
        metafile: true,
        write: true,
      });
      const clients = sdkClients(built.metafile);
      const buildFloor = async (name: string, powered: boolean) => {
        const entry = join(dir, `${name}.ts`);
        await writeFile(entry, floorSource(root, clients, powered));
        const file = join(dir, `${name}.mjs`);
        await build({
          ...options,
          absWorkingDir: root,
          nodePaths: [join(root, 'node_modules')],
          entryPoints: [entry],
          outfile: file,
          sourcemap: false,
          write: true,
        });
        return file;
      };
      const floorFile = await buildFloor('floor', false);
      const poweredFile = await buildFloor('powered', true);
      const cold: Timing[] = [];
      const floor: Timing[] = [];
      const powered: Timing[] = [];
      for (let i = 0; i < runs; i++) {
        cold.push(coldImport(outfile));
        floor.push(coldImport(floorFile));
        powered.push(coldImport(poweredFile));
      }
      const size = (path: string) => built.metafile.outputs[path]?.bytes ?? 0;
      const outputs = Object.keys(built.metafile.outputs);
      figures.push({
        handler,
        bytes: size(outputs.find((path) => !path.endsWith('.map')) ?? ''),
        mapBytes: size(outputs.find((path) => path.endsWith('.map')) ?? ''),
        clients,
        floorBytes: (await stat(floorFile)).size,
        coldMs: medians(cold),
        floorMs: medians(floor),
        poweredMs: medians(powered),
      });
    }
    return figures;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export function printBundles(figures: BundleFigure[], runs: number, report: (name: string, value: string) => void): void {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  for (const figure of figures) {
    report(
      `bundle ${figure.handler} as deployed (+ map) / floor`,
      `${kib(figure.bytes)} (+${kib(figure.mapBytes)}) / ${kib(figure.floorBytes)}  [${figure.clients.map((name) => name.replace('@aws-sdk/', '')).join(' ')}]`,
    );
    for (const clock of ['wall', 'cpu'] as const) {
      const ratio = figure.coldMs[clock] / figure.floorMs[clock];
      report(
        `cold init ${figure.handler} / floor, ${clock} (median of ${runs})`,
        `${figure.coldMs[clock].toFixed(0)} ms / ${figure.floorMs[clock].toFixed(0)} ms = ${ratio.toFixed(2)}x${ratio <= 1.2 ? '' : '  (goal <= 1.2x)'}` +
          `  [floor + Powertools ${figure.poweredMs[clock].toFixed(0)} ms = ${(figure.poweredMs[clock] / figure.floorMs[clock]).toFixed(2)}x]`,
      );
    }
  }
}
