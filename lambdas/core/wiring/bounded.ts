/**
 * No unbounded wait: every SDK call gives up after a few seconds and two attempts (within API
 * Gateway's 29 s, with the fence), and the API answers 503 THROTTLED; see `DynamoRequestStore`
 * for why a write that timed out can never commit later.
 */
export const BOUNDED = {
  // 2 attempts of 8 s and a fence of 8 s stay within API Gateway's 29 s.
  maxAttempts: 2,
  requestHandler: {
    // Both timers start with the request: 8 s bounds the attempt, connecting included.
    // Past one dropped SYN (sent again after 1 s) under a burst; the request timeout bounds it all.
    connectionTimeout: 3_000,
    requestTimeout: 8_000,
    // Without it the SDK only warns when the timeout passes, and goes on waiting.
    throwOnRequestTimeout: true,
    // Local mode runs every invocation of a function in one process: no queue for sockets there either.
    httpAgent: { keepAlive: true, maxSockets: 512 },
    httpsAgent: { keepAlive: true, maxSockets: 512 },
  },
};
