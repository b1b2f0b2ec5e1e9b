import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Capacity } from '../../../local/capacity';
import { LocalGateway, PRINCIPAL_HEADER } from '../../../local/gateway';

/** An invocation that runs until `end()` is called. */
function held() {
  let end!: () => void;
  const done = new Promise<void>((resolve) => {
    end = resolve;
  });
  return { done, end };
}

describe("local mode's capacity", () => {
  afterEach(() => jest.useRealTimers());

  it('lets new work in at once while fewer invocations than the limit run', async () => {
    const capacity = new Capacity(2, 15_000);
    const first = held();
    const running = capacity.run(() => first.done);
    await expect(capacity.admit()).resolves.toBe(true);
    first.end();
    await running;
  });

  it('holds new work while the limit runs, and lets it in, first come first served, as invocations end', async () => {
    const capacity = new Capacity(2, 15_000);
    const invocations = [held(), held()];
    const running = invocations.map((invocation) => capacity.run(() => invocation.done));
    const order: string[] = [];
    const a = capacity.admit().then((admitted) => order.push(`a:${admitted}`));
    const b = capacity.admit().then((admitted) => order.push(`b:${admitted}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    invocations[0].end();
    await a;
    expect(order).toEqual(['a:true']);
    invocations[1].end();
    await b;
    expect(order).toEqual(['a:true', 'b:true']);
    await Promise.all(running);
  });

  it('gives up on new work after the longest wait, and still counts invocations that failed', async () => {
    jest.useFakeTimers();
    const capacity = new Capacity(1, 15_000);
    const invocation = held();
    const running = capacity.run(() => invocation.done.then(() => Promise.reject(new Error('failed'))));
    const waiting = capacity.admit();
    jest.advanceTimersByTime(15_000);
    await expect(waiting).resolves.toBe(false);
    invocation.end();
    await expect(running).rejects.toThrow('failed');
    // The failed invocation freed its place.
    await expect(capacity.admit()).resolves.toBe(true);
  });

  it('the local gateway answers work it does not admit with 503 THROTTLED and Retry-After, and never invokes it', async () => {
    const invoked: APIGatewayProxyEvent[] = [];
    const gateway = new LocalGateway({
      port: 0,
      functions: { 'api-requests': async (event) => (invoked.push(event), { statusCode: 200, body: '{}' }) },
      admit: async (resource, method) => !(resource === '/requests' && method === 'POST'),
    });
    const port = await gateway.listen();
    try {
      const response = await fetch(`http://127.0.0.1:${port}/requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PRINCIPAL_HEADER]: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice' },
        body: '{}',
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.json()).toEqual({ error: { code: 'THROTTLED', message: expect.stringContaining('nothing was changed') } });
      expect(invoked).toEqual([]);
      const read = await fetch(`http://127.0.0.1:${port}/requests?tenantId=demo`, {
        headers: { [PRINCIPAL_HEADER]: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice' },
      });
      expect(read.status).toBe(200);
      expect(invoked).toHaveLength(1);
    } finally {
      await gateway.close();
    }
  });
});
