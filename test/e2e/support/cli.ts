import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs the real `lockbox` bin (bin/lockbox, as `npm run lockbox` and an installed package do) in
 * a child process and collects what it printed and how it exited. The environment is cleaned of
 * the developer's own Lockbox and AWS settings so every test says what it depends on.
 */
const ROOT = join(__dirname, '..', '..', '..');
const localNode = join(ROOT, 'node_modules', '.bin', 'node');
const NODE = existsSync(localNode) ? localNode : process.execPath;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr without local mode's "calling as" note. */
  errors: string[];
  json<T = any>(): T;
}

export function lockbox(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (/^(AWS_|LOCKBOX_)/.test(name)) delete env[name];
  Object.assign(env, {
    NO_COLOR: '1',
    LOCKBOX_CONFIG: join(ROOT, 'test-artifacts', 'no-such-lockbox-config.json'),
    AWS_CONFIG_FILE: join(ROOT, 'test-artifacts', 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(ROOT, 'test-artifacts', 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...options.env,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [join(ROOT, 'bin', 'lockbox'), ...args], {
      cwd: ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lockbox ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const errors = stderr.split('\n').filter((line) => line && !line.startsWith('lockbox: local mode: calling as'));
      resolve({
        code,
        stdout,
        stderr,
        errors,
        json: () => {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`lockbox ${args.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
          }
        },
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A failure as the command line must report it: exactly one line, no stack trace. */
export function expectOneLine(result: CliResult, code: number, pattern: RegExp): void {
  expect({ code: result.code, errors: result.errors }).toEqual({ code, errors: [expect.stringMatching(pattern)] });
  expect(result.stderr).not.toMatch(/\n\s+at |Error:.*\n.*node:internal/);
}
