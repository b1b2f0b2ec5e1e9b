import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { log, wire } from '../core/container';
import { rawBody, requireContentType } from '../core/http/api';
import {
  alreadyDecidedPage,
  confirmationPage,
  decidedPage,
  formValue,
  noDecision,
  notAForm,
  notFromPage,
  page,
  reasonNeeded,
  refusalPage,
} from '../core/http/pages';
import { linkForm } from '../core/http/schemas';
import { countMetric, logKeys, observed } from '../core/observability';
import { METRIC } from '../core/telemetry';
import { decideByLink, type LinkDecision, type LinkView, refuseLinkPost, viewLink } from '../core/usecases/links';
import { mailer } from '../core/wiring/mailer';
import { signer } from '../core/wiring/signer';
import { stores } from '../core/wiring/stores';
import { workflow } from '../core/wiring/workflow';

const deps = wire({ ...stores, signer, mailer, workflow });

/**
 * `/approvals/{token}` (public: the token is the credential).
 * - GET and HEAD show the confirmation page and change nothing, whoever asks and however often
 *   (mail scanners fetch links before people do). HEAD is GET without the body.
 * - POST decides, and only with the form value of the confirmation page: a POST without it is
 *   refused before the token is even looked at. Then a decision, and a reason to deny or reject.
 */
export const handler = observed<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .handler(async (event) => {
    logKeys({ callerKind: 'link' }); // never the token: it is the credential
    const token = event.pathParameters?.token ?? '';
    const sourceIp = event.requestContext?.identity?.sourceIp ?? undefined;
    switch (event.httpMethod) {
      case 'GET':
      case 'HEAD': {
        const view = await viewLink(deps, token, sourceIp);
        const result = view.ok ? confirmationPage(view, token, deps.clock.now().getTime()) : refused(view);
        return event.httpMethod === 'HEAD' ? { ...result, body: '' } : result;
      }
      case 'POST': {
        // Every refusal here is audited too (T-1.11), however it failed.
        const refuse = async (why: string, answer: APIGatewayProxyResult) => (await refuseLinkPost(deps, token, why, sourceIp), answer);
        if (!isForm(event)) return refuse('not-a-form', notAForm());
        const fields = Object.fromEntries(new URLSearchParams(rawBody(event)));
        if (typeof fields.form !== 'string' || !sameValue(fields.form, formValue(token))) return refuse('not-from-page', notFromPage());
        const form = linkForm.safeParse(fields);
        if (!form.success) return refuse('no-decision', noDecision());
        if (form.data.decision !== 'APPROVE' && !form.data.reason) return refuse('no-reason', reasonNeeded());
        const result = await decideByLink(deps, token, form.data, sourceIp);
        if (result.ok) countMetric(METRIC.decisions, { stage: result.stage, decision: form.data.decision });
        return result.ok ? decidedPage(result.request, result.stage) : refused(result);
      }
      default:
        return page(405, 'Not allowed', '<p>Open the link from your email.</p>');
    }
  })
  .after(async (request) => {
    log.info('answered', { route: `${request.event.httpMethod} /approvals/{token}`, statusCode: request.response?.statusCode });
  })
  .onError(async (request) => {
    log.error('approval link failed', { error: String(request.error) });
    request.response = page(
      500,
      'Something went wrong',
      '<p>Nothing was changed. Try again in a minute: open the link from your email again.</p>',
    );
  });

const refused = (result: Extract<LinkView | LinkDecision, { ok: false }>) =>
  result.decided ? alreadyDecidedPage(result.decided) : refusalPage(result.refusal);

/** The confirmation page posts `application/x-www-form-urlencoded` (a charset may follow). */
function isForm(event: APIGatewayProxyEvent): boolean {
  try {
    requireContentType(event, 'application/x-www-form-urlencoded', true);
    return true;
  } catch {
    return false;
  }
}

function sameValue(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}
