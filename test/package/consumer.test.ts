import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The package as a customer's platform team meets it: `npm pack` (which builds dist/), the tarball
 * installed into a fresh CDK app that has only the peer dependencies (taken from this repository's
 * node_modules; the tarball's own dependencies come from the npm registry or its cache), then TWO
 * Lockbox instances and a LockboxTarget synthesized in one app with cdk-nag on. Slow (a build and
 * an install): its own jest project, `npm run test:package`.
 */
const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'lockbox-consumer-'));
const app = join(work, 'app');
let tarball: string;
let synth: { status: number | null; stdout: string; stderr: string };
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const APP = `
const { App, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const { Lockbox, LockboxTarget } = require('lockbox');
const people = {
  providerAccount: '111111111111',
  engineers: [{ principal: 'arn:aws-cn:iam::111111111111:role/SupportEngineer', email: 'erin@provider.example' }],
  managers: [{ principal: 'arn:aws-cn:iam::111111111111:user/mallory', email: 'mallory@provider.example' }],
  email: { sender: 'lockbox@provider.example' },
};
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Support');
const a = new Lockbox(stack, 'TeamA', { ...people, targetAccounts: ['333333333333'] });
new Lockbox(stack, 'TeamB', people);
new LockboxTarget(new Stack(app, 'Member'), 'Target', { lockboxAccount: '222222222222', prefix: a.prefix });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

beforeAll(() => {
  tarball = join(work, run('npm', ['pack', '--silent', '--pack-destination', work], ROOT).trim().split('\n').at(-1) as string);
  writeFileSync(join(work, 'package.json'), '{}');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const peers = ['aws-cdk-lib', 'constructs', 'cdk-nag'].map((name) => `file:${join(ROOT, 'node_modules', name)}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, ...peers], app);
  writeFileSync(join(app, 'app.js'), APP);
  synth = spawnSync(process.execPath, ['app.js'], { cwd: app, encoding: 'utf8' });
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const templates = () => ['Support', 'Member'].map((name) => join(app, 'cdk.out', `${name}.template.json`));

describe('the npm package in a customer’s CDK app', () => {
  it('holds the compiled construct, its types, the prebuilt handlers and the ASL file, and no TypeScript source', () => {
    const files = run('tar', ['-tzf', tarball], work).split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'package/dist/lib/index.js',
        'package/dist/lib/index.d.ts',
        'package/dist/lambdas/grant/index.mjs',
        'package/dist/statemachines/access-request.asl.json',
      ]),
    );
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('synthesizes two Lockbox instances and a LockboxTarget with cdk-nag on, without errors', () => {
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: '' });
    for (const file of templates()) expect(existsSync(file)).toBe(true);
  });

  it('deploys the prebuilt bundles: each function asset is an index.mjs, not bundled in the consumer’s app', () => {
    const assets = readdirSync(join(app, 'cdk.out')).filter(
      (name) => name.startsWith('asset.') && existsSync(join(app, 'cdk.out', name, 'index.mjs')),
    );
    expect(assets.length).toBeGreaterThan(0);
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
  });

  it('writes no hard-coded partition into the templates', () => {
    for (const file of templates()) expect(readFileSync(file, 'utf8')).not.toMatch(/arn:aws:/);
  });

  // cfn-lint is a Python tool: run where it is installed (toolchain notes), reported when it is not.
  if (spawnSync('cfn-lint', ['--version']).status !== 0) {
    console.warn('cfn-lint is not installed: the templates were not linted (pip install cfn-lint)');
    return;
  }
  it('passes cfn-lint (errors only)', () => {
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--ignore-checks', 'W', 'I', '--', ...templates()], { encoding: 'utf8' });
    expect({ status: lint.status, findings: lint.stdout.trim() }).toEqual({ status: 0, findings: '' });
  });
});
