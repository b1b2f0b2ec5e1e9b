import { type Command, Option } from 'commander';
import { action, type Context } from '../context';
import { CliError, EXIT, usage } from '../errors';
import { relative } from '../time';
import { type RequestView, requestFields, who } from '../views';
import { collectItems, positiveInt, requestPath } from './requests';

/**
 * Managers and the customer's approvers: `pending`, `approve`, `reject`/`deny`, `revoke`.
 * The stage comes from the request's status, so one command serves both kinds of approver; the
 * server still decides who may (separation of duties, the stage's deadline).
 */
export function registerDecisions(program: Command): void {
  program
    .command('pending')
    .description('requests waiting for your decision: the manager stage, or with --tenant the customer stage')
    .option('-t, --tenant <id>', "the customer stage of this tenant (its approvers); without: every tenant's manager stage (managers)")
    .addOption(new Option('--stage <stage>', 'which stage to list').choices(['manager', 'customer']))
    .option('-n, --limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .action(
      action(async (context: Context<{ tenant?: string; stage?: 'manager' | 'customer'; limit: number }>) => {
        const stage = context.flags.stage ?? (context.flags.tenant ? 'customer' : 'manager');
        if (stage === 'customer' && !context.flags.tenant) throw usage('--stage customer needs --tenant <id>');
        const status = stage === 'manager' ? 'PENDING_MANAGER_APPROVAL' : 'PENDING_CUSTOMER_APPROVAL';
        const items = await collectItems<RequestView>(
          (await context.api()).items('/requests', {
            tenantId: context.flags.tenant,
            status,
            limit: String(Math.min(context.flags.limit, 100)),
          }),
          context.flags.limit,
        );
        context.out.result({ items }, () =>
          items.length === 0
            ? `Nothing waits for a ${stage} decision${context.flags.tenant ? ` in ${context.flags.tenant}` : ''}.`
            : context.out.table(
                ['REQUEST', 'TENANT', 'ACCESS', 'TICKET', 'REQUESTED BY', 'DECIDE BY', 'JUSTIFICATION'],
                items.map((request) => [
                  request.requestId,
                  request.tenantId,
                  `${request.accessLevel} ${request.duration}`,
                  request.ticketId,
                  who(request.requestedBy),
                  request.approvalDeadline ? relative(request.approvalDeadline) : '',
                  request.justification.length > 60 ? `${request.justification.slice(0, 59)}…` : request.justification,
                ]),
              ),
        );
      }),
    );

  program
    .command('approve')
    .description('approve a request at its current stage (manager, or customer)')
    .argument('<requestId>')
    .option('-r, --reason <text>', 'a note for the record (optional when approving)')
    .action(
      action(async (context: Context<{ reason?: string }>, requestId) => decide(context, requestId, 'APPROVE', context.flags.reason)),
    );

  for (const [name, description] of [
    ['reject', "refuse a request (managers reject, the customer's approvers deny: the same command)"],
    ['deny', "refuse a request (the customer's approvers deny, managers reject: the same command)"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<requestId>')
      .requiredOption('-r, --reason <text>', 'why: the engineer reads it')
      .action(
        action(async (context: Context<{ reason: string }>, requestId) => decide(context, requestId, 'REFUSE', context.flags.reason)),
      );
  }

  program
    .command('revoke')
    .description("end granted access now (the tenant's approvers and admins)")
    .argument('<requestId>')
    .option('-r, --reason <text>', 'why, for the record and the engineer')
    .action(
      action(async (context: Context<{ reason?: string }>, requestId) => {
        const { body } = await (await context.api()).call<RequestView>('POST', `/requests/${requestPath(requestId)}/revoke`, {
          body: context.flags.reason ? { reason: context.flags.reason } : {},
        });
        context.out.result(body, () => `${body.requestId} is ${context.out.status(body.status)}: access ended ${body.endedAt ?? 'now'}`);
      }),
    );
}

async function decide(
  context: Context<unknown>,
  requestId: string,
  verdict: 'APPROVE' | 'REFUSE',
  reason: string | undefined,
): Promise<void> {
  if (reason !== undefined && !reason.trim()) throw usage('--reason must not be empty');
  const api = await context.api();
  const { body: request } = await api.call<RequestView>('GET', `/requests/${requestPath(requestId)}`);
  const stage =
    request.status === 'PENDING_MANAGER_APPROVAL' ? 'manager' : request.status === 'PENDING_CUSTOMER_APPROVAL' ? 'customer' : undefined;
  if (!stage) throw new CliError(EXIT.wrongState, `${requestId} is ${request.status}: no decision is open`);
  const decision = verdict === 'APPROVE' ? 'APPROVE' : stage === 'manager' ? 'REJECT' : 'DENY';
  const { body } = await api.call<RequestView>('POST', `/requests/${requestId}/${stage}-decision`, {
    body: { decision, ...(reason ? { reason } : {}) },
  });
  context.out.result(
    body,
    () =>
      `${decision === 'APPROVE' ? 'Approved' : decision === 'REJECT' ? 'Rejected' : 'Denied'} (${stage} stage): ${body.requestId} is now ${context.out.status(body.status)}\n\n${requestFields(context.out, body)}`,
  );
}
