import type { Output } from './output';
import { relative } from './time';

/** How requests, tenants and audit events read for people (tables and key/value lines). */

/** The API's shapes, from the server's own types (type-only: nothing of the server is bundled). */
import type { RequestView } from '../lambdas/core/domain/request';

export { TERMINAL_STATUSES as TERMINAL } from '../lambdas/core/domain/status';
export type { RequestView };

type DecisionView = NonNullable<RequestView['managerDecision'] | RequestView['customerDecision']>;

/** `arn:aws:sts::111:assumed-role/SupportEngineer/alice` → `alice (SupportEngineer)`. */
export function who(principal: string | undefined): string {
  if (!principal) return '';
  const resource = principal.split(':').slice(5).join(':');
  const parts = resource.split('/');
  if (parts[0] === 'assumed-role' && parts.length >= 3) return `${parts.slice(2).join('/')} (${parts[1]})`;
  return parts.at(-1) ?? principal;
}

const when = (iso: string | undefined) => (iso ? `${iso} (${relative(iso)})` : undefined);

function decisionLine(decision: DecisionView | undefined): string | undefined {
  if (!decision) return undefined;
  return `${decision.decision} by ${decision.byEmail ?? who(decision.by)}${decision.via ? ` via ${decision.via}` : ''} at ${decision.at}${decision.reason ? ` — "${decision.reason}"` : ''}`;
}

export function requestFields(out: Output, request: RequestView): string {
  const pending = request.status.startsWith('PENDING') && request.approvalDeadline;
  return out.fields([
    ['Request', request.requestId],
    ['Status', `${out.status(request.status)}${pending ? `  (decide by ${when(request.approvalDeadline)})` : ''}`],
    ['Tenant', request.tenantId],
    ['Ticket', request.ticketId],
    ['Access', `${request.accessLevel} for ${request.duration}`],
    ['Requested by', `${who(request.requestedBy)}  ${out.out.dim(request.requestedBy)}`],
    ['Requested at', request.createdAt],
    ['Justification', request.justification],
    ['Manager', decisionLine(request.managerDecision)],
    ['Customer', decisionLine(request.customerDecision)],
    [
      'Window',
      request.accessStartsAt
        ? `${request.accessStartsAt} → ${request.accessExpiresAt} (ends ${relative(request.accessExpiresAt)})`
        : undefined,
    ],
    ['Ended', request.endedAt ? `${request.endedAt}${request.endReason ? ` (${request.endReason})` : ''}` : undefined],
    ['Use it', request.access && request.status === 'ACTIVE' ? useIt(request) : undefined],
  ]);
}

function useIt(request: RequestView): string {
  const access = request.access ?? {};
  if (access.provider === 'iam') {
    return [
      `role ${String(access.roleArn)} (external id ${String(access.externalId)})`,
      `eval "$(lockbox credentials ${request.requestId})"   or, in ~/.aws/config:`,
      `credential_process = lockbox credentials ${request.requestId} --credential-process`,
    ].join('\n');
  }
  return `${String(access.provider ?? 'unknown')} grant: ${JSON.stringify(access)}`;
}

export function requestTable(out: Output, requests: RequestView[]): string {
  return out.table(
    ['REQUEST', 'STATUS', 'TENANT', 'ACCESS', 'TICKET', 'REQUESTED BY', 'CREATED'],
    requests.map((request) => [
      request.requestId,
      out.status(request.status),
      request.tenantId,
      `${request.accessLevel} ${request.duration}`,
      request.ticketId,
      who(request.requestedBy),
      `${request.createdAt} (${relative(request.createdAt)})`,
    ]),
  );
}

export interface TenantView {
  tenantId: string;
  displayName: string;
  lockboxEnabled: boolean;
  approvers: { email: string; principal?: string }[];
  admins: string[];
  auditors: string[];
  maxAccessDuration: string;
  approvalTimeout: string;
  accessLevels: Record<string, { description?: string; managedPolicyArns?: string[] }>;
  accessTarget?: { accountId?: string; externalId?: string };
  version: number;
}

export function tenantTable(out: Output, tenants: TenantView[]): string {
  return out.table(
    ['TENANT', 'NAME', 'LOCKBOX', 'APPROVERS', 'ADMINS', 'MAX DURATION', 'APPROVAL TIMEOUT', 'LEVELS'],
    tenants.map((tenant) => [
      tenant.tenantId,
      tenant.displayName,
      tenant.lockboxEnabled ? out.out.green('on') : out.out.red('off'),
      String(tenant.approvers.length),
      String(tenant.admins.length),
      tenant.maxAccessDuration,
      tenant.approvalTimeout,
      Object.keys(tenant.accessLevels).join(', '),
    ]),
  );
}

export function tenantFields(out: Output, tenant: TenantView): string {
  return out.fields([
    ['Tenant', tenant.tenantId],
    ['Name', tenant.displayName],
    ['Lockbox', tenant.lockboxEnabled ? out.out.green('on') : out.out.red('off (requests are refused)')],
    [
      'Approvers',
      tenant.approvers
        .map((approver) => `${approver.email}${approver.principal ? `  ${approver.principal}` : '  (links only)'}`)
        .join('\n') || '(none)',
    ],
    ['Admins', tenant.admins.join('\n')],
    ['Auditors', tenant.auditors.join('\n') || '(none)'],
    ['Max duration', tenant.maxAccessDuration],
    ['Approval timeout', tenant.approvalTimeout],
    [
      'Access levels',
      Object.entries(tenant.accessLevels)
        .map(
          ([name, level]) =>
            `${name}${level.description ? ` — ${level.description}` : ''}${level.managedPolicyArns?.length ? ` [${level.managedPolicyArns.join(', ')}]` : ''}`,
        )
        .join('\n'),
    ],
    [
      'Access target',
      tenant.accessTarget
        ? `account ${tenant.accessTarget.accountId ?? '(any)'}, external id ${tenant.accessTarget.externalId ?? '(none)'}`
        : undefined,
    ],
    ['Version', String(tenant.version)],
  ]);
}
