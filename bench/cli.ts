import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * Start-up of the `lockbox` command line, side by side with floors:
 * - the CLI compiled as the package ships it (one CommonJS file per entry, dependencies from
 *   node_modules; here built with esbuild, like tsc's output), and from source through tsx
 *   (`npm run lockbox`);
 * - `lockbox --help` next to a Node that only loads commander (the framework floor);
 * - `request show` in local mode (one call, unsigned) and signed (the SDK's credential chain and
 *   the SigV4 signer loaded), against a stand-in API that answers at once.
 * Goal: `--help` at most 1.5x the commander floor — the AWS SDK must stay out of start-up.
 */
const REQUEST = {
  requestId: `req-${'a'.repeat(32)}`,
  tenantId: 'demo',
  ticketId: 'T-1',
  justification: 'x',
  accessLevel: 'ReadOnly',
  duration: 'PT1H',
  requestedBy: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
  status: 'ACTIVE',
  createdAt: new Date().toISOString(),
  version: 1,
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Milliseconds from spawn to exit (asynchronous: the stand-in API runs in this process). */
function timeRun(node: string, args: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, {
      env: { ...process.env, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

export async function cliBench(root: string, runs: number, report: (name: string, value: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lockbox-bench-cli-'));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(REQUEST));
  });
  try {
    const built = join(dir, 'lockbox-cli.js');
    await build({
      entryPoints: [join(root, 'bin', 'lockbox-cli.ts')],
      outfile: built,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      logLevel: 'silent',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const node = process.execPath;
    const nodePath = { NODE_PATH: join(root, 'node_modules') };
    const source = join(root, 'bin', 'lockbox');
    const show = ['request', 'show', REQUEST.requestId];
    const signed = {
      ...nodePath,
      LOCKBOX_ENDPOINT: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIABENCH',
      AWS_SECRET_ACCESS_KEY: 'bench',
    };
    const cases: [string, string[], Record<string, string>][] = [
      ['floor: node loading commander', ['-e', "require('commander')"], nodePath],
      ['lockbox --help (compiled)', [built, '--help'], nodePath],
      ['lockbox --help (source, tsx)', [source, '--help'], {}],
      ['lockbox request show, local mode (compiled)', [built, '--local-as', 'bob', ...show], { ...nodePath, LOCKBOX_ENDPOINT: endpoint }],
      ['lockbox request show, signed (compiled)', [built, ...show], signed],
    ];
    const times = cases.map(() => [] as number[]);
    // Interleaved, so every case sees the same machine.
    for (let run = 0; run < runs; run++) {
      for (const [i, [, args, env]] of cases.entries())
        times[i].push(await timeRun(node, args, { LOCKBOX_CONFIG: join(dir, 'none.json'), ...env }));
    }
    const floor = median(times[0]);
    cases.forEach(([name], i) => {
      const ms = median(times[i]);
      const goal = name.startsWith('lockbox --help (compiled)') && ms / floor > 1.5 ? '  (goal <= 1.5x)' : '';
      report(
        `cli start-up: ${name} (median of ${runs})`,
        i === 0 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(0)} ms = ${(ms / floor).toFixed(2)}x floor${goal}`,
      );
    });
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
