import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JAVA_NEEDED } from '../../local/dynamodb';

/**
 * `npm start` on a machine without Java: local mode stops at once with the one message that says
 * how to install Java 17 (the tests on DynamoDB Local fail with the same message). PATH holds only
 * node, so no java can be found.
 */
jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');

it('npm start without Java says how to install it, and exits 1', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'lockbox-no-java-'));
  try {
    const localNode = join(ROOT, 'node_modules', '.bin', 'node');
    symlinkSync(existsSync(localNode) ? localNode : process.execPath, join(bin, 'node'));
    const child = spawn(
      join(bin, 'node'),
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'local/start.ts', '--port', '0', '--quiet'],
      {
        cwd: ROOT,
        env: { ...process.env, PATH: bin, PORT: '', LOCKBOX_LOCAL_PARENT_PID: String(process.pid) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain(JAVA_NEEDED);
    expect(output.split(JAVA_NEEDED).length - 1).toBe(1);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
