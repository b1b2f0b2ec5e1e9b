import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { OidcSignIn } from '../core/adapters/oidc';
import { getSecretString } from '../core/adapters/secrets';
import { config } from '../core/config';
import { log, wire } from '../core/container';
import { consoleHandler, timeoutsFrom } from '../core/http/console';
import { page } from '../core/http/pages';
import { logKeys, observed } from '../core/observability';
import { access } from '../core/wiring/access';
import { ledgerDeps } from '../core/wiring/ledger';
import { mailer } from '../core/wiring/mailer';
import { sessionSigner } from '../core/wiring/session-signer';
import { signer } from '../core/wiring/signer';
import { stores } from '../core/wiring/stores';
import { workflow } from '../core/wiring/workflow';

// Decides, revokes and opens links for the signed-in person: every part.
const deps = wire({ ...stores, access, mailer, workflow, signer });

/** `/console` and `/console/{proxy+}` (public to API Gateway: the signed session cookie is the credential). */
const settings = config.console();
const serve = consoleHandler({
  deps,
  signer: sessionSigner(),
  signIn: new OidcSignIn({
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecretArn ? () => getSecretString(settings.clientSecretArn!) : settings.clientSecret,
    redirectUri: `${settings.baseUrl}/console/callback`,
    groupsClaim: settings.groupsClaim,
    postLogoutRedirectUri: `${settings.baseUrl}/console/signed-out`,
    logoutUrl: settings.logoutUrl,
  }),
  ledger: ledgerDeps,
  baseUrl: settings.baseUrl,
  timeouts: timeoutsFrom(settings.idleTimeout, settings.absoluteTimeout),
});

export const handler = observed<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .handler((event) => {
    logKeys({ callerKind: 'console' }); // never the session cookie: it is the credential
    return serve(event);
  })
  .onError(async (request) => {
    log.error('console failed', {
      error: request.error instanceof Error ? `${request.error.name}: ${request.error.message}` : String(request.error),
    });
    request.response = page(500, 'Something went wrong', '<p>Nothing was changed. Try again in a minute.</p>');
  });
