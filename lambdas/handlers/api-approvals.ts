import { timingSafeEqual } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { deps, log } from '../core/container';
import { rawBody } from '../core/http/api';
import { alreadyDecidedPage, confirmationPage, decidedPage, formValue, page, refusalPage } from '../core/http/pages';
import { linkForm } from '../core/http/schemas';
import { decideByLink, viewLink, type LinkDecision, type LinkView } from '../core/usecases/links';

/**
 * `/approvals/{token}` (public: the token is the credential). GET and HEAD show the confirmation
 * page and change nothing; only a POST of the page's form decides.
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .handler(async (event) => {
    const token = event.pathParameters?.token ?? '';
    const sourceIp = event.requestContext?.identity?.sourceIp ?? undefined;
    switch (event.httpMethod) {
      case 'GET':
      case 'HEAD': {
        const view = await viewLink(deps, token, sourceIp);
        if (!view.ok) return refused(view);
        const result = confirmationPage(view, token, deps.clock.now().getTime());
        return event.httpMethod === 'HEAD' ? { ...result, body: '' } : result;
      }
      case 'POST': {
        const form = linkForm.safeParse(Object.fromEntries(new URLSearchParams(rawBody(event))));
        if (!form.success) {
          return page(400, 'Choose Approve or Deny', '<p>The form was incomplete. Go back to the page, and to deny or reject give a reason.</p>');
        }
        if (!sameValue(form.data.form, formValue(token))) {
          return page(400, 'Use the buttons on the page', '<p>This decision did not come from the confirmation page. Open the link from your email and choose there.</p>');
        }
        if (form.data.decision !== 'APPROVE' && !form.data.reason) {
          return page(400, 'A reason is needed', '<p>To deny or reject, give a reason: the engineer is told it. Go back and fill it in.</p>');
        }
        const result = await decideByLink(deps, token, form.data, sourceIp);
        return result.ok ? decidedPage(result.request, result.stage) : refused(result);
      }
      default:
        return page(405, 'Not allowed', '<p>Open the link from your email.</p>');
    }
  })
  .onError(async (request) => {
    log.error('approval link failed', { error: String(request.error) });
    request.response = page(500, 'Something went wrong', '<p>Nothing was changed. Try again in a minute.</p>');
  });

const refused = (result: Extract<LinkView | LinkDecision, { ok: false }>) =>
  result.decided ? alreadyDecidedPage(result.decided) : refusalPage(result.refusal);

function sameValue(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}
