import { type AuditEvent, chainEvent, EMPTY_CHAIN, GENESIS_HASH, verifyChain } from '../../../lambdas/core/domain/audit';
import { canonicalJson } from '../../../lambdas/core/domain/canonical-json';

function chain(length: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let head = EMPTY_CHAIN;
  for (let i = 0; i < length; i++) {
    const event = chainEvent(
      { type: 'RequestCreated', requestId: `req-${i}`, actor: { kind: 'engineer', id: 'alice' }, details: { n: i } },
      'demo',
      'req-chain',
      head,
      new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      `event-${i}`,
    );
    events.push(event);
    head = { seq: event.seq, hash: event.hash };
  }
  return events;
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[1,{"x":2,"z":1}]},"b":1}',
    );
  });

  it('gives equal bytes for equal values built in a different order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
});

describe('audit hash chain', () => {
  it('links each event to the previous one from the genesis hash', () => {
    const events = chain(3);
    expect(events[0].prevHash).toBe(GENESIS_HASH);
    expect(events[1].prevHash).toBe(events[0].hash);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(verifyChain(events)).toEqual({ ok: true, head: { seq: 3, hash: events[2].hash } });
  });

  it('detects a changed event', () => {
    const events = chain(4);
    events[1] = { ...events[1], details: { n: 99 } };
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 2, reason: 'hash does not match the event' });
  });

  it('detects a changed event whose hash was recomputed, at the next link', () => {
    const events = chain(4);
    const { hash: _hash, ...forged } = { ...events[1], actor: { kind: 'engineer' as const, id: 'mallory' } };
    const rehashed = chainEvent(
      { type: forged.type, requestId: forged.requestId, actor: forged.actor, details: forged.details },
      'demo',
      'req-chain',
      { seq: 1, hash: events[0].hash },
      forged.at,
      forged.eventId,
    );
    events[1] = rehashed;
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 3, reason: 'prevHash does not match the previous event' });
  });

  it('detects a removed event', () => {
    const events = chain(4);
    events.splice(2, 1);
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('detects an inserted event', () => {
    const events = chain(4);
    const inserted = chainEvent(
      { type: 'TenantUpdated', actor: { kind: 'admin', id: 'x' } },
      'demo',
      'req-chain',
      { seq: 2, hash: events[1].hash },
      events[1].at,
      'forged',
    );
    events.splice(2, 0, inserted);
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('verifies a later page from the head before it', () => {
    const events = chain(5);
    expect(verifyChain(events.slice(2), { seq: 2, hash: events[1].hash }).ok).toBe(true);
    expect(verifyChain(events.slice(2)).ok).toBe(false);
  });
});
