import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { config } from '../core/config';
import { OidcSignIn } from '../core/adapters/oidc';
import { deps, log, sessionSigner } from '../core/container';
import { consoleHandler, timeoutsFrom } from '../core/http/console';
import { page } from '../core/http/pages';

/** `/console` and `/console/{proxy+}` (public to API Gateway: the signed session cookie is the credential). */
const settings = config.console();
const serve = consoleHandler({
  deps,
  signer: sessionSigner(),
  signIn: new OidcSignIn({
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    redirectUri: `${settings.baseUrl}/console/callback`,
    groupsClaim: settings.groupsClaim,
  }),
  baseUrl: settings.baseUrl,
  timeouts: timeoutsFrom(settings.idleTimeout, settings.absoluteTimeout),
});

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .handler(serve)
  .onError(async (request) => {
    log.error('console failed', { error: request.error instanceof Error ? `${request.error.name}: ${request.error.message}` : String(request.error) });
    request.response = page(500, 'Something went wrong', '<p>Nothing was changed. Try again in a minute.</p>');
  });
