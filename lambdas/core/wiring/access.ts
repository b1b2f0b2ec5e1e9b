import { IAMClient } from '@aws-sdk/client-iam';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { IamAccessProvider } from '../adapters/iam-access';
import { LocalAccessProvider } from '../adapters/local-access';
import { config } from '../config';
import { systemClock } from '../domain/clock';
import { traced } from '../observability';
import type { AccessProvider } from '../ports';
import { once } from './once';
import { dynamo } from './stores';

/** The access provider: IAM roles (deployed), or local mode's Grants table. */
export const access = once((): AccessProvider => {
  if (config.accessProvider() === 'local') {
    return new LocalAccessProvider(dynamo(), config.grantsTable(), () => systemClock.now());
  }
  return new IamAccessProvider(traced(new IAMClient({})), {
    boundaryArn: config.accessBoundaryArn,
    now: () => systemClock.now(),
    targets: config.accessTargets,
    // A member account's LockboxTarget role; the SDK refreshes the credentials before they expire.
    clientAs: (roleArn) =>
      traced(
        new IAMClient({
          credentials: fromTemporaryCredentials({ params: { RoleArn: roleArn, RoleSessionName: 'lockbox-access-provider' } }),
        }),
      ),
  });
});
