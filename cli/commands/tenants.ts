import type { Command } from 'commander';
import { action, type Context, collect } from '../context';
import { usage } from '../errors';
import { isoDuration } from '../time';
import { type TenantView, tenantFields, tenantTable } from '../views';
import { collectItems, readJsonFile } from './requests';

/**
 * Admins: `tenants list|show|create|update`. The deployment's admins create and list tenants;
 * each tenant's own admins change it (`update` reads it, applies the changes, and writes it back
 * with the version it read, so a concurrent change is refused rather than overwritten).
 */
export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description("customer tenants and their settings (the deployment's admins, tenant admins)");

  tenants
    .command('list')
    .description('every tenant (deployment admins)')
    .action(
      action(async (context) => {
        const items = await collectItems<TenantView>((await context.api()).items('/tenants'), Infinity);
        context.out.result({ items }, () => tenantTable(context.out, items));
      }),
    );

  tenants
    .command('show')
    .description("a tenant's settings (its admins; deployment admins)")
    .argument('<tenantId>')
    .action(
      action(async (context, tenantId) => {
        const { body } = await (await context.api()).call<TenantView>('GET', `/tenants/${tenantPath(tenantId)}`);
        context.out.result(body, () => tenantFields(context.out, body));
      }),
    );

  const settingFlags = (command: Command) =>
    command
      .option('--name <text>', 'display name')
      .option(
        '--approver <email[=arn]>',
        'an approver: emailed links; with =ARN also the principal that decides through the API (repeatable)',
        collect,
      )
      .option('--admin <arn>', 'a tenant admin principal (repeatable)', collect)
      .option('--auditor <arn>', 'an auditor principal (repeatable)', collect)
      .option(
        '--level <name[=policyArn,...]>',
        'an access level, with the managed policies it attaches for the iam provider (repeatable)',
        collect,
      )
      .option('--max-duration <iso>', 'the longest access a request may ask for (e.g. PT2H)')
      .option('--approval-timeout <iso>', "how long the tenant's approvers have to decide (e.g. PT12H)")
      .option('--account <id>', 'the AWS account access is granted in')
      .option('--external-id <id>', 'the external id the access role requires')
      .option('-f, --file <path>', 'settings as JSON (the shape tenants show --json prints); flags override it');

  settingFlags(
    tenants
      .command('create')
      .description('create a tenant (deployment admins); its admins change it afterwards')
      .argument('<tenantId>', 'lower-case letters, digits and dashes'),
  )
    .option('--disabled', 'create it with Lockbox off (requests refused until enabled)')
    .addHelpText(
      'after',
      `
Example:
  lockbox tenants create acme --name "Acme Corp" --approver alice@acme.example=arn:aws:iam::222222222222:user/alice \\
    --admin arn:aws:iam::222222222222:user/bob --level ReadOnly=arn:aws:iam::aws:policy/ReadOnlyAccess \\
    --max-duration PT2H --approval-timeout PT12H --account 222222222222 --external-id acme-lockbox-3f9c`,
    )
    .action(
      action(async (context: Context<SettingFlags & { disabled?: boolean }>, tenantId) => {
        const base = context.flags.file ? readJsonFile(context.flags.file) : {};
        const settings = applyFlags({ lockboxEnabled: !context.flags.disabled, auditors: [], ...base }, context.flags);
        for (const field of ['displayName', 'approvers', 'admins', 'accessLevels', 'maxAccessDuration', 'approvalTimeout']) {
          if (settings[field] === undefined) throw usage(`tenants create: missing ${FLAG_OF[field]} (or ${field} in --file)`);
        }
        const { version: _version, tenantId: _id, ...body } = settings;
        const { body: created } = await (await context.api()).call<TenantView>('POST', '/tenants', {
          body: { ...body, tenantId: tenantPath(tenantId) },
        });
        context.out.result(created, () => `Created tenant ${created.tenantId}.\n\n${tenantFields(context.out, created)}`);
      }),
    );

  settingFlags(
    tenants
      .command('update')
      .description("change a tenant's settings (its admins): --approver, --admin, --auditor and --level replace the lists")
      .argument('<tenantId>'),
  )
    .option('--add-approver <email[=arn]>', 'add an approver (repeatable)', collect)
    .option('--remove-approver <email>', 'remove an approver by email (repeatable)', collect)
    .option('--enable', 'turn Lockbox on (requests accepted)')
    .option('--disable', 'turn Lockbox off (requests refused)')
    .action(
      action(
        async (
          context: Context<SettingFlags & { addApprover?: string[]; removeApprover?: string[]; enable?: boolean; disable?: boolean }>,
          tenantId,
        ) => {
          const flags = context.flags;
          if (flags.enable && flags.disable) throw usage('--enable and --disable exclude each other');
          const api = await context.api();
          const { body: current } = await api.call<TenantView>('GET', `/tenants/${tenantPath(tenantId)}`);
          const patch = flags.file ? readJsonFile(flags.file) : {};
          const next = applyFlags({ ...current, ...patch, version: current.version }, flags);
          const approvers = (next.approvers as TenantView['approvers']).filter(
            (approver) => !(flags.removeApprover ?? []).some((email) => email.toLowerCase() === approver.email.toLowerCase()),
          );
          next.approvers = [...approvers, ...(flags.addApprover ?? []).map(parseApprover)];
          if (flags.enable || flags.disable) next.lockboxEnabled = Boolean(flags.enable);
          const { tenantId: _id, ...body } = next;
          const { body: updated } = await api.call<TenantView>('PUT', `/tenants/${tenantId}`, { body });
          context.out.result(
            updated,
            () => `Updated tenant ${updated.tenantId} (version ${updated.version}).\n\n${tenantFields(context.out, updated)}`,
          );
        },
      ),
    );
}

interface SettingFlags {
  name?: string;
  approver?: string[];
  admin?: string[];
  auditor?: string[];
  level?: string[];
  maxDuration?: string;
  approvalTimeout?: string;
  account?: string;
  externalId?: string;
  file?: string;
}

const FLAG_OF: Record<string, string> = {
  displayName: '--name',
  approvers: '--approver',
  admins: '--admin',
  accessLevels: '--level',
  maxAccessDuration: '--max-duration',
  approvalTimeout: '--approval-timeout',
};

function applyFlags(settings: Record<string, unknown>, flags: SettingFlags): Record<string, unknown> {
  const next = { ...settings };
  if (flags.name !== undefined) next.displayName = flags.name;
  if (flags.approver) next.approvers = flags.approver.map(parseApprover);
  if (flags.admin) next.admins = flags.admin;
  if (flags.auditor) next.auditors = flags.auditor;
  if (flags.level) next.accessLevels = Object.fromEntries(flags.level.map(parseLevel));
  if (flags.maxDuration !== undefined) next.maxAccessDuration = isoDuration(flags.maxDuration, '--max-duration');
  if (flags.approvalTimeout !== undefined) next.approvalTimeout = isoDuration(flags.approvalTimeout, '--approval-timeout');
  if (flags.account !== undefined || flags.externalId !== undefined) {
    const target = { ...((next.accessTarget as object | undefined) ?? {}) } as Record<string, string>;
    if (flags.account !== undefined) target.accountId = flags.account;
    if (flags.externalId !== undefined) target.externalId = flags.externalId;
    next.accessTarget = target;
  }
  return next;
}

function parseApprover(text: string): { email: string; principal?: string } {
  const [email, principal] = splitOnce(text, '=');
  if (!email.includes('@')) throw usage(`--approver takes email or email=ARN (got "${text}")`);
  return principal ? { email, principal } : { email };
}

function parseLevel(text: string): [string, { managedPolicyArns?: string[] }] {
  const [name, policies] = splitOnce(text, '=');
  if (!name) throw usage(`--level takes name or name=policyArn,... (got "${text}")`);
  return [name, policies ? { managedPolicyArns: policies.split(',').filter(Boolean) } : {}];
}

const splitOnce = (text: string, separator: string): [string, string | undefined] => {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
};

export const tenantPath = (tenantId: string): string => {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenantId)) throw usage(`not a tenant id: "${tenantId}" (lower-case letters, digits and dashes)`);
  return tenantId;
};
