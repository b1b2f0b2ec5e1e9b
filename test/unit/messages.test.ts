import type { AccessRequest } from '../../lambdas/core/domain/request';
import {
  alreadyDecidedEmail,
  approvalRequestEmail,
  describePrincipal,
  escapeHtml,
  humanDuration,
  outcomeEmail,
  remaining,
  utc,
} from '../../lambdas/core/messages';
import { ALICE, BOB, CAROL, pendingRequest } from '../support/fixtures';

/**
 * The emails, part by part, without snapshots: what each kind must say in both its parts, that
 * every value from a request is escaped in the HTML, and that nothing is loaded from anywhere.
 */
const NOW = Date.parse('2026-11-29T10:05:00.000Z');
const DEADLINE = NOW + (11 * 60 + 52) * 60_000 + 20_000; // 11 h 52 min 20 s ahead
const LINK = 'https://lockbox.example/approvals/eyJhbGciOi.abc_DEF-123';
const HOSTILE = `<script>alert("x")</script> & <img src=x onerror=alert(1)> 'quoted'`;

const managerDecision = {
  by: BOB,
  byEmail: 'bob@provider.example',
  decision: 'APPROVE' as const,
  at: '2026-11-29T10:02:00.000Z',
  via: 'link' as const,
};
const atCustomer = (over: Partial<AccessRequest> = {}) => pendingRequest({ status: 'PENDING_CUSTOMER_APPROVAL', managerDecision, ...over });

/** The HTML part loads nothing and runs nothing: no script, no image, no stylesheet link, no remote URL but the button's. */
function expectSelfContained(html: string, allowedHref?: string): void {
  expect(html).not.toMatch(/<script|<img|<link|<iframe|<object|<embed|<form|\bsrc=|url\(|@import/i);
  expect([...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1])).toEqual(allowedHref ? [escapeHtml(allowedHref)] : []);
}

/** `phrase` is in the text part as it is and in the HTML part escaped. */
function expectInBothParts(mail: { text: string; html: string }, ...phrases: string[]): void {
  for (const phrase of phrases) {
    expect(mail.text).toContain(phrase);
    expect(mail.html).toContain(escapeHtml(phrase));
  }
}

/** Every email: an HTML document and a text part, the subject one line starting with the ticket id. */
function expectWellFormed(mail: { subject: string; text: string; html: string }, ticketId = 'T-42'): void {
  expect(mail.subject.startsWith(`[${ticketId}] `)).toBe(true);
  expect(mail.subject).not.toMatch(/[\r\n]/);
  expect(mail.html.startsWith('<!doctype html><html lang="en">')).toBe(true);
  expect(mail.html.endsWith('</html>')).toBe(true);
  expect(mail.text).not.toMatch(/<\/?(html|body|p|table|tr|td|th|a|pre|h1|br)\b/i); // the text part is not HTML
}

describe('formatting helpers', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });

  it('says how long remains in hours and minutes, never negative', () => {
    expect(remaining(DEADLINE, NOW)).toBe('11 h 52 min');
    expect(remaining(NOW + 3 * 60_000, NOW)).toBe('3 min');
    expect(remaining(NOW + 40_000, NOW)).toBe('40 s');
    expect(remaining(NOW - 5000, NOW)).toBe('0 s');
  });

  it('writes times in UTC, saying so', () => {
    expect(utc('2026-11-29T22:03:04.567Z')).toBe('2026-11-29 22:03:04 UTC');
    expect(utc(Date.parse('2026-01-02T03:04:05Z'))).toBe('2026-01-02 03:04:05 UTC');
  });

  it('writes durations in words and keeps the ISO form', () => {
    expect(humanDuration('PT2H')).toBe('2 h (PT2H)');
    expect(humanDuration('PT90M')).toBe('1 h 30 min (PT90M)');
    expect(humanDuration('PT45S')).toBe('45 s (PT45S)');
    expect(humanDuration('P1DT1H')).toBe('1 d 1 h (P1DT1H)');
    expect(humanDuration('soon')).toBe('soon');
  });

  it('names a principal in words', () => {
    expect(describePrincipal(ALICE)).toBe('alice (role SupportEngineer, AWS account 111111111111)');
    expect(describePrincipal(CAROL)).toBe('carol (IAM user, AWS account 222222222222)');
    expect(describePrincipal('arn:aws:iam::333333333333:role/Ops')).toBe('role Ops (AWS account 333333333333)');
    expect(describePrincipal('someone@example.com')).toBe('someone@example.com');
  });
});

describe('approval request emails', () => {
  it('asks a customer approver: who, which tenant, ticket, justification, level, duration, the deadline in UTC and relative, one button', () => {
    const mail = approvalRequestEmail(atCustomer(), 'customer', LINK, DEADLINE, NOW);
    expectWellFormed(mail);
    expect(mail.subject).toBe('[T-42] Access request awaits your approval: alice asks for ReadOnly access to demo');
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain(
        'alice (role SupportEngineer, AWS account 111111111111) asks for ReadOnly access to your tenant demo for 1 h (PT1H).',
      );
      expect(part).toContain('Investigate failing backups');
      expect(part).toContain('T-42');
      expect(part).toContain(ALICE);
      expect(part).toContain('2026-11-29 21:57:20 UTC (expires in 11 h 52 min)');
      expect(part).toContain('bob@provider.example at 2026-11-29 10:02:00 UTC');
      expect(part).toContain('req-0123456789abcdef0123456789abcdef');
      expect(part).toContain('do not forward this email');
      expect(part).toContain('Nothing is granted unless you approve');
    }
    expect(mail.text).toContain(`Review the request: ${LINK}`);
    expect(mail.text).toMatch(/^Decide by: +2026-11-29 21:57:20 UTC \(expires in 11 h 52 min\)$/m);
    expect(mail.html.match(/<a /g)).toHaveLength(1);
    expect(mail.html).toContain('>Review the request</a>');
    expectSelfContained(mail.html, LINK);
  });

  it('asks a manager for the manager stage, naming the customer tenant', () => {
    const mail = approvalRequestEmail(pendingRequest(), 'manager', LINK, DEADLINE, NOW);
    expectWellFormed(mail);
    expect(mail.subject).toBe('[T-42] Access request awaits your manager approval: alice asks for ReadOnly access to demo');
    expectInBothParts(
      mail,
      'Manager approval needed',
      'to the customer tenant demo for 1 h (PT1H)',
      "the customer's approvers are asked only after you approve",
      'the Approve and Reject buttons',
    );
    expect(mail.text).not.toContain('Approved by manager');
    expectSelfContained(mail.html, LINK);
  });

  it('escapes every value from the request: a <script> in the justification is text', () => {
    const request = atCustomer({
      ticketId: 'T-<b>1</b>',
      justification: HOSTILE,
      accessLevel: 'Read<i>Only</i>',
      managerDecision: { ...managerDecision, byEmail: 'bob"<x>@provider.example', reason: HOSTILE },
    });
    const mail = approvalRequestEmail(request, 'customer', `${LINK}"><script>`, DEADLINE, NOW);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).not.toContain('<b>1</b>');
    expect(mail.html).not.toContain('<i>Only</i>');
    expect(mail.html).not.toContain('"<x>');
    expect(mail.html).toContain(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;img src=x onerror=alert(1)&#62; &#39;quoted&#39;',
    );
    expect(mail.html).toContain('T-&#60;b&#62;1&#60;/b&#62;');
    expect(mail.html).toContain(`href="${escapeHtml(`${LINK}"><script>`)}"`);
    // The text part shows the same values as they are: plain text needs no escaping.
    expect(mail.text).toContain(`Justification:       ${HOSTILE}`);
    expect(mail.subject).toBe('[T-<b>1</b>] Access request awaits your approval: alice asks for Read<i>Only</i> access to demo');
  });

  it('keeps the subject on one line whatever the ticket id holds', () => {
    const mail = approvalRequestEmail(pendingRequest({ ticketId: 'T-1\r\nBcc: victim@example.com' }), 'manager', LINK, DEADLINE, NOW);
    expect(mail.subject).toBe(
      '[T-1 Bcc: victim@example.com] Access request awaits your manager approval: alice asks for ReadOnly access to demo',
    );
  });

  it('keeps a justification of several lines readable in both parts', () => {
    const mail = approvalRequestEmail(pendingRequest({ justification: 'Line one\nLine two' }), 'manager', LINK, DEADLINE, NOW);
    expect(mail.text).toMatch(/^Justification: +Line one\n +Line two$/m);
    expect(mail.html).toContain('white-space:pre-wrap;word-break:break-word">Line one\nLine two</td>');
  });
});

describe('already-decided emails', () => {
  it.each([
    ['APPROVE', 'approved'],
    ['REJECT', 'rejected'],
    ['DENY', 'denied'],
  ])('tells the other approvers that %s was decided by someone else, and that they need do nothing', (decision, verdict) => {
    const mail = alreadyDecidedEmail(atCustomer(), {
      by: CAROL,
      byEmail: 'approver@demo.example',
      decision,
      at: '2026-11-29T10:04:00.000Z',
      reason: decision === 'APPROVE' ? undefined : 'Out of <hours>',
    });
    expectWellFormed(mail);
    expect(mail.subject).toBe(`[T-42] Access request already ${verdict} by approver@demo.example: no action needed`);
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain(`approver@demo.example ${verdict} this access request before you`);
      expect(part).toContain('the link you were sent no longer works');
      expect(part).toContain('2026-11-29 10:04:00 UTC');
      expect(part).toContain('Investigate failing backups');
    }
    if (decision !== 'APPROVE') {
      expect(mail.text).toContain('Out of <hours>');
      expect(mail.html).toContain('Out of &#60;hours&#62;');
    }
    expectSelfContained(mail.html);
  });

  it('names the decider by principal when no email is known', () => {
    const mail = alreadyDecidedEmail(atCustomer(), { by: CAROL, decision: 'APPROVE', at: '2026-11-29T10:04:00.000Z' });
    expect(mail.text).toContain('carol (IAM user, AWS account 222222222222) approved this access request');
  });
});

describe('outcome emails to the engineer', () => {
  const customerDecision = (decision: 'APPROVE' | 'DENY', reason?: string) => ({
    by: CAROL,
    byEmail: 'approver@demo.example',
    decision,
    reason,
    at: '2026-11-29T10:06:00.000Z',
    via: 'link' as const,
  });
  const iamAccess = {
    provider: 'iam',
    roleArn: 'arn:aws:iam::222222222222:role/lockbox/lockbox-req-0123456789abcdef0123456789abcdef',
    externalId: 'lockbox-demo',
    roleSessionName: 'req-0123456789abcdef0123456789abcdef',
    sourceIdentity: 'alice',
    accessStartsAt: '2026-11-29T10:06:01.000Z',
    accessExpiresAt: '2026-11-29T11:06:01.000Z',
    maxSessionSeconds: 3600,
    assumeRoleCommand: 'aws sts assume-role --role-arn arn:aws:iam::222222222222:role/lockbox/lockbox-req-0123 --external-id lockbox-demo',
  };
  const active = (access: Record<string, unknown>) =>
    atCustomer({
      status: 'ACTIVE',
      customerDecision: customerDecision('APPROVE', 'Only the backup vault, please'),
      accessStartsAt: '2026-11-29T10:06:01.000Z',
      accessExpiresAt: '2026-11-29T11:06:01.000Z',
      access,
    });

  it('approved: how to use the access (the command to copy) and until when', () => {
    const mail = outcomeEmail(active(iamAccess));
    expectWellFormed(mail);
    expect(mail.subject).toBe('[T-42] Access granted: ReadOnly on demo until 2026-11-29 11:06:01 UTC');
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain('access is granted until 2026-11-29 11:06:01 UTC');
      expect(part).toContain(iamAccess.roleArn);
      expect(part).toContain('lockbox-demo');
      expect(part).toContain('How to use it: assume the role with the AWS CLI');
      expect(part).toContain(iamAccess.assumeRoleCommand);
      expect(part).toContain('Only the backup vault, please');
      expect(part).toContain('approver@demo.example');
      expect(part).toContain('2026-11-29 10:06:01 UTC');
    }
    expect(mail.text).toMatch(/^Access until: +2026-11-29 11:06:01 UTC$/m);
    expect(mail.text).toMatch(/^Longest session: +1 h$/m);
    expect(mail.text).not.toContain('maxSessionSeconds');
    expect(mail.html).toContain(`<pre style="`);
    expectSelfContained(mail.html);
  });

  it('approved in local mode: says nothing real is granted', () => {
    const mail = outcomeEmail(
      active({ provider: 'local', grantId: 'req-0123456789abcdef0123456789abcdef', principal: ALICE, accessLevel: 'ReadOnly' }),
    );
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain('nothing real is granted');
      expect(part).toContain('Grant id');
    }
    expect(mail.text.match(/^Access level:/gm)).toHaveLength(1);
  });

  const ended = (over: Partial<AccessRequest>) => atCustomer({ endedAt: '2026-11-29T10:07:00.000Z', ...over });
  it.each<[string, Partial<AccessRequest>, string, string[]]>([
    [
      'REJECTED',
      { status: 'REJECTED', managerDecision: { ...managerDecision, decision: 'REJECT', reason: 'No <ticket> on file' } },
      'Access request rejected by the support manager',
      ['Rejected by', 'bob@provider.example', 'No <ticket> on file', 'Nothing was granted'],
    ],
    [
      'DENIED',
      { status: 'DENIED', customerDecision: customerDecision('DENY', 'Not during the <freeze>') },
      'Access request denied by the customer',
      ['Denied by', 'approver@demo.example', 'Not during the <freeze>', 'Nothing was granted'],
    ],
    [
      'EXPIRED',
      { status: 'EXPIRED', endReason: 'no customer decision in time' },
      'Access request expired: nobody decided in time',
      ['no customer decision in time', 'Nothing was granted', 'File a new request'],
    ],
    [
      'REVOKED',
      { status: 'REVOKED', endReason: 'revoked-by-customer', customerDecision: customerDecision('APPROVE', 'an approval note') },
      'Access revoked early by the customer',
      ['revoked your access before the window ended', '2026-11-29 10:07:00 UTC'],
    ],
    [
      'CANCELLED',
      { status: 'CANCELLED', endReason: 'cancelled-by-requester' },
      'Access request cancelled',
      ['cancelled before access was granted'],
    ],
    [
      'COMPLETED',
      { status: 'COMPLETED', endReason: 'window-ended' },
      'Access ended: the window closed and access was revoked',
      ['access was revoked'],
    ],
    [
      'FAILED',
      { status: 'FAILED', endReason: 'grant-failed' },
      'Access request failed: nothing was granted',
      ['could not be granted', 'Nothing was left granted'],
    ],
  ])('%s: the subject says so, both parts explain it', (_status, over, subject, says) => {
    const mail = outcomeEmail(ended(over));
    expectWellFormed(mail);
    expect(mail.subject).toBe(`[T-42] ${subject}`);
    expectInBothParts(mail, ...says);
    expect(mail.html).not.toMatch(/<(ticket|freeze)>/);
    expectSelfContained(mail.html);
  });

  it('shows the reason of the refusal only, never an approval note, as the reason', () => {
    const revoked = outcomeEmail(ended({ status: 'REVOKED', customerDecision: customerDecision('APPROVE', 'an approval note') }));
    expect(revoked.text).not.toContain('Reason:');
    expect(revoked.text).not.toContain('an approval note');
    const denied = outcomeEmail(ended({ status: 'DENIED', customerDecision: customerDecision('DENY', 'Use the runbook') }));
    expect(denied.text).toMatch(/^Reason: +Use the runbook$/m);
  });

  it('escapes the justification and access details in the HTML part', () => {
    const mail = outcomeEmail(
      atCustomer({ ...active({ ...iamAccess, assumeRoleCommand: 'aws sts <script>x</script>' }), justification: HOSTILE }),
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('aws sts &#60;script&#62;x&#60;/script&#62;');
    expect(mail.text).toContain(HOSTILE);
  });
});
