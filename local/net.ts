import { createServer } from 'node:net';

/** Region, account and credentials of local mode. Nothing here reaches AWS. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
/** DynamoDB Local keeps one database per access key and region: a fixed key finds the same data. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'lockboxlocal', secretAccessKey: 'lockboxlocal' };

/**
 * How local mode's own HTTP servers (gateway, Step Functions endpoint, SES) take connections. Every
 * "Lambda" shares this process, so a burst opens hundreds of connections at once while the event
 * loop is busy: a deep accept queue keeps the kernel from dropping their SYNs (a dropped SYN is sent
 * again only after a second, past the SDK's connect timeout), and idle keep-alive connections stay
 * open longer than clients keep them, so no client reuses a socket the server is closing.
 */
export const LOCAL_SERVER = { keepAliveTimeout: 65_000, headersTimeout: 66_000 } as const;
export const LISTEN_BACKLOG = 4096;

/** A TCP port that was free a moment ago (for child processes that need a port number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
