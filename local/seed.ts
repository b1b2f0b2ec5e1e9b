import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Directory } from '../lambdas/core/domain/principals';
import type { Tenant } from '../lambdas/core/domain/tenant';
import { PERSONAS } from './personas';

export { PERSONAS } from './personas';

/**
 * The demo world of local mode (the personas): a provider with two support engineers, a support
 * manager and a deployment admin (creates tenants), and a customer tenant `demo` with two
 * approvers. The provider side is deployment configuration (`LOCKBOX_DIRECTORY`); the tenant is an
 * item of the Tenants table, written once (a data directory keeps the tenant as its admin last
 * saved it).
 */
/**
 * The customer's people as local mode's OIDC provider knows them: they sign in to the console
 * with their email. carol and erin are listed approvers (carol also an admin, by her sign-in email);
 * gina is an approver and ivan an auditor only through their IdP group; mallory has no role.
 */
export const CONSOLE_PERSONAS = {
  carol: {
    email: PERSONAS.carol.email,
    name: 'Carol (customer approver, admin)',
    groups: [] as string[],
    role: 'approver and admin of "demo" (listed by email)',
  },
  erin: {
    email: PERSONAS.erin.email,
    name: 'Erin (customer approver)',
    groups: [] as string[],
    role: 'approver of "demo" (listed by email)',
  },
  gina: {
    email: 'gina@demo.example',
    name: 'Gina (customer approver by group)',
    groups: ['lockbox-approvers'],
    role: 'approver of "demo" through the IdP group lockbox-approvers',
  },
  ivan: {
    email: 'auditor@demo.example',
    name: 'Ivan (customer auditor)',
    groups: ['lockbox-auditors'],
    role: 'auditor of "demo" through the IdP group lockbox-auditors',
  },
  mallory: {
    email: 'mallory@demo.example',
    name: 'Mallory (no role)',
    groups: [] as string[],
    role: 'signs in, but has no role in any tenant',
  },
} as const;

/**
 * Each persona is a configured person (principal and email). Their roles are declared
 * `sessionNameSetBy: 'idp'`, standing for federation whose identity provider sets the session name:
 * in local mode the `x-lockbox-principal` header plays the IdP. Start-up refuses a directory that
 * cannot name people (docs/design.md §3a), as synth does.
 */
export const DIRECTORY: Directory = {
  engineers: [
    { principal: PERSONAS.alice.principal, email: PERSONAS.alice.email, sessionNameSetBy: 'idp' },
    { principal: PERSONAS.dave.principal, email: PERSONAS.dave.email, sessionNameSetBy: 'idp' },
  ],
  managers: [{ principal: PERSONAS.bob.principal, email: PERSONAS.bob.email, sessionNameSetBy: 'idp' }],
  admins: [{ principal: PERSONAS.olivia.principal, email: PERSONAS.olivia.email }],
};

export const DEMO_TENANT: Tenant = {
  tenantId: 'demo',
  displayName: 'Demo Customer Ltd',
  lockboxEnabled: true,
  approvers: [
    { email: PERSONAS.carol.email, principal: PERSONAS.carol.principal },
    { email: PERSONAS.erin.email, principal: PERSONAS.erin.principal },
  ],
  admins: [PERSONAS.carol.principal, PERSONAS.carol.email],
  auditors: [],
  consoleGroups: { approvers: ['lockbox-approvers'], auditors: ['lockbox-auditors'] },
  maxAccessDuration: 'PT4H',
  approvalTimeout: 'PT10M',
  accessLevels: {
    ReadOnly: { description: 'Read-only access to the tenant', managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
  },
  accessTarget: { accountId: '222222222222', externalId: 'lockbox-demo' },
  version: 1,
};

/** Writes the demo tenant unless it exists. Returns true when it was written. */
export async function seed(client: DynamoDBClient, tenantsTable: string): Promise<boolean> {
  const doc = DynamoDBDocumentClient.from(client);
  try {
    await doc.send(new PutCommand({ TableName: tenantsTable, Item: DEMO_TENANT, ConditionExpression: 'attribute_not_exists(tenantId)' }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
