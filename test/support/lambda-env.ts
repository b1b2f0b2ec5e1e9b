import { randomBytes } from 'node:crypto';
import { DIRECTORY } from './fixtures';

/** Environment of a Lambda under test, as the CDK stack sets it (see docs/architecture.md). */
export const LINK_KEY = randomBytes(32);
export const PAGE_KEY = randomBytes(32);

export function setLambdaEnv(directory: unknown = DIRECTORY): void {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    REQUESTS_TABLE: 'Requests',
    TENANTS_TABLE: 'Tenants',
    AUDIT_TABLE: 'Audit',
    GRANTS_TABLE: 'Grants',
    STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:lockbox',
    SENDER_EMAIL: 'lockbox@provider.example',
    LOCKBOX_DIRECTORY: JSON.stringify(directory),
    LINK_BASE_URL: 'https://lockbox.example/prod',
    LINK_SIGNER: 'local',
    LINK_CURRENT_KEY: 'k1',
    LINK_LOCAL_KEYS: JSON.stringify({ k1: LINK_KEY.toString('base64') }),
    ACCESS_PROVIDER: 'local',
    PAGE_TOKEN_KEY: `local:${PAGE_KEY.toString('base64')}`,
  });
}
