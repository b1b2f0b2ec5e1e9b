import { existsSync } from 'node:fs';
import type { Config } from 'jest';

/**
 * One jest project per kind of test, so each runs alone (`npm run test:unit`, `test:integration`,
 * `test:cdk`, `test:e2e`, `test:browser`) and `npm test` runs them all. @middy/core and
 * openid-client (with oauth4webapi and jose) are ESM-only: swc turns them into CommonJS for jest
 * (docs/adr/0007-jest-swc-middy.md).
 */
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|openid-client|oauth4webapi|jose)/)'],
  moduleNameMapper: { '^@middy/([^/]+)$': '<rootDir>/node_modules/@middy/$1/index.js' },
} satisfies Config;

const project = (name: string) => ({ ...shared, displayName: name, roots: [`<rootDir>/test/${name}`], testMatch: ['**/*.test.ts'] });

/** `package` (the packed tarball, `npm run test:package`) once its folder exists. */
const config: Config = {
  projects: ['unit', 'integration', 'cdk', 'e2e', 'browser', 'package']
    .filter((name) => existsSync(new URL(`./test/${name}`, import.meta.url)))
    .map(project),
};

export default config;
