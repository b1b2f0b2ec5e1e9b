import { createServer } from 'node:net';

/** Region, account and credentials of local mode. Nothing here reaches AWS. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
/** DynamoDB Local keeps one database per access key and region: a fixed key finds the same data. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'lockboxlocal', secretAccessKey: 'lockboxlocal' };

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
