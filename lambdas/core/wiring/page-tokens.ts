import { KMSClient } from '@aws-sdk/client-kms';
import { kmsDerivedKey } from '../adapters/signers';
import { config } from '../config';
import { PageTokens } from '../domain/page-token';
import { traced } from '../observability';

/** The API's paging tokens (the handlers seal and open them: see http/api.ts `paged`). */
export const pageTokens = new PageTokens(async () => {
  const key = config.pageTokenKey();
  return key.kind === 'local' ? key.secret : kmsDerivedKey(traced(new KMSClient({})), key.keyId);
});
