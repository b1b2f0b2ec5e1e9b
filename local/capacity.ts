/**
 * Local mode's capacity. On AWS every invocation gets its own Lambda environment and DynamoDB
 * scales; here every function shares one process and one DynamoDB Local, so a burst of new requests
 * would queue inside them, and every step already under way — a window's end included — would
 * wait its turn behind the burst.
 *
 * New work therefore waits at the door: a create is let in only while fewer than `limit`
 * invocations run, first come first served, for at most `maxWaitMs`; then it is refused (503
 * THROTTLED with Retry-After, nothing committed), as the API refuses any call it cannot take.
 * Work already admitted (decisions, cancels, revokes, the workflow's steps) is never held back, so
 * each lifecycle that started finishes at the pace of an idle machine.
 */
export class Capacity {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly limit: number,
    readonly maxWaitMs: number,
  ) {}

  /** Runs one invocation, counted while it runs. */
  async run<T>(invocation: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await invocation();
    } finally {
      this.running--;
      // One waiter per invocation that ends: the one let in starts its own invocation at once.
      if (this.running < this.limit) this.waiting.shift()?.();
    }
  }

  /** Resolves true once new work may start, or false after `maxWaitMs` of waiting. */
  admit(): Promise<boolean> {
    if (this.running < this.limit && this.waiting.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const enter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(enter), 1);
        resolve(false);
      }, this.maxWaitMs);
      this.waiting.push(enter);
    });
  }
}
