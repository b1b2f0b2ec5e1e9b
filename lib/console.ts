import { Duration, RemovalPolicy, type SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import type { LockboxFunction } from './lockbox-function';

/**
 * The customer console (DESIGN §6a): its sign-in, its session key and its routes.
 *
 * By default a Cognito user pool with a hosted sign-in domain and an app client for the console
 * (authorization code + PKCE, no client secret, callback `<api>/console/callback`). The pool can
 * federate the customer's own IdP (`federate`: OIDC or SAML), or the console can use any other
 * OIDC issuer instead (`issuer`: no pool is created). Sign-out ends the IdP's session too (Cognito's
 * `/logout`, or the issuer's `end_session_endpoint`) and comes back to `<api>/console/signed-out`,
 * which another issuer must list as a post-logout redirect URI of the client. Sessions are signed by a KMS HMAC key of
 * their own (the key never leaves KMS; one VerifyMac per console request).
 */
export interface ConsoleFederationProps {
  /** The customer's OpenID Connect IdP (Entra ID, Okta, Google…) as a provider of the pool. */
  readonly oidc?: {
    readonly name: string;
    readonly issuerUrl: string;
    readonly clientId: string;
    /** A dynamic reference (e.g. `SecretValue.secretsManager(...)`), never a literal. */
    readonly clientSecret: SecretValue;
  };
  /** The customer's SAML IdP, by its metadata URL. */
  readonly saml?: { readonly name: string; readonly metadataUrl: string; readonly emailAttribute?: string };
}

export interface ConsoleIssuerProps {
  /** The issuer URL (its `/.well-known/openid-configuration` is discovered). */
  readonly issuerUrl: string;
  readonly clientId: string;
  /** The client's secret in Secrets Manager, if the issuer needs a confidential client. @default - a public client (PKCE) */
  readonly clientSecret?: secretsmanager.ISecret;
  /** The ID token claim listing the person's groups. @default 'groups' */
  readonly groupsClaim?: string;
}

export interface LockboxConsoleProps {
  /** The console function (handler `console`), wired for the use cases by its owner. */
  readonly function: LockboxFunction;
  readonly api: apigw.RestApi;
  /** The public base URL of the API's stage (`https://…/v1`). */
  readonly baseUrl: string;
  /** Prefix of the hosted sign-in domain (`<prefix>.auth.<region>.amazoncognito.com`). @default '<name prefix>-<account>' */
  readonly domainPrefix?: string;
  /** Used for the default domain prefix. */
  readonly namePrefix: string;
  readonly federate?: ConsoleFederationProps;
  /** Use this OIDC issuer instead of a Cognito user pool. */
  readonly issuer?: ConsoleIssuerProps;
  /** @default 'PT15M' */
  readonly idleTimeout?: string;
  /** @default 'PT8H' */
  readonly absoluteTimeout?: string;
  /** Of the user pool. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const METHODS = ['GET', 'HEAD', 'POST'] as const;

export class LockboxConsole extends Construct {
  readonly sessionKey: kms.Key;
  readonly userPool?: cognito.UserPool;
  readonly domain?: cognito.UserPoolDomain;
  readonly client?: cognito.UserPoolClient;
  /** The issuer the console signs in with. */
  readonly issuerUrl: string;

  constructor(scope: Construct, id: string, props: LockboxConsoleProps) {
    super(scope, id);
    if (props.issuer && props.federate)
      throw new Error('LockboxConsole: give either issuer (another OIDC issuer) or federate (into the Cognito pool), not both');
    const fn = props.function;
    const callbackUrl = `${props.baseUrl}/console/callback`;

    this.sessionKey = new kms.Key(this, 'SessionKey', {
      description: 'Lockbox console sessions (HMAC)',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: RemovalPolicy.DESTROY, // losing it only signs everyone out
      pendingWindow: Duration.days(7),
    });
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateMac', 'kms:VerifyMac'], resources: [this.sessionKey.keyArn] }),
    );

    let clientId: string;
    let groupsClaim: string;
    if (props.issuer) {
      this.issuerUrl = props.issuer.issuerUrl;
      clientId = props.issuer.clientId;
      groupsClaim = props.issuer.groupsClaim ?? 'groups';
      if (props.issuer.clientSecret) {
        props.issuer.clientSecret.grantRead(fn.role);
        fn.useSettings({ [ENV.consoleClientSecretArn]: props.issuer.clientSecret.secretArn });
      }
    } else {
      const pool = new cognito.UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        autoVerify: { email: true },
        standardAttributes: { email: { required: true, mutable: true } },
        mfa: cognito.Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      const plusPlan =
        "Threat protection needs Cognito's Plus feature plan, a cost the deployer chooses; sign-in is MFA-required, there is no self sign-up, and customers may federate their own IdP instead.";
      Validations.of(pool).acknowledge({ id: 'AwsSolutions-COG3', reason: plusPlan }, { id: 'AwsSolutions-COG8', reason: plusPlan });
      const providers: cognito.UserPoolClientIdentityProvider[] = [cognito.UserPoolClientIdentityProvider.COGNITO];
      const dependencies: Construct[] = [];
      if (props.federate?.oidc) {
        const { name, issuerUrl, clientId: idpClientId, clientSecret } = props.federate.oidc;
        dependencies.push(
          new cognito.UserPoolIdentityProviderOidc(this, 'FederatedOidc', {
            userPool: pool,
            name,
            issuerUrl,
            clientId: idpClientId,
            clientSecret: clientSecret.unsafeUnwrap(), // a dynamic reference: resolved by CloudFormation, never in the template
            scopes: ['openid', 'email', 'profile'],
            attributeMapping: {
              email: cognito.ProviderAttribute.other('email'),
              emailVerified: cognito.ProviderAttribute.other('email_verified'),
            },
          }),
        );
        providers.push(cognito.UserPoolClientIdentityProvider.custom(name));
      }
      if (props.federate?.saml) {
        const { name, metadataUrl, emailAttribute } = props.federate.saml;
        dependencies.push(
          new cognito.UserPoolIdentityProviderSaml(this, 'FederatedSaml', {
            userPool: pool,
            name,
            metadata: cognito.UserPoolIdentityProviderSamlMetadata.url(metadataUrl),
            attributeMapping: {
              email: cognito.ProviderAttribute.other(
                emailAttribute ?? 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
              ),
            },
          }),
        );
        providers.push(cognito.UserPoolClientIdentityProvider.custom(name));
      }
      this.domain = pool.addDomain('Domain', {
        cognitoDomain: {
          domainPrefix: props.domainPrefix ?? `${props.namePrefix.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${Stack.of(this).account}`,
        },
      });
      this.client = pool.addClient('ConsoleClient', {
        generateSecret: false,
        authFlows: {},
        preventUserExistenceErrors: true,
        supportedIdentityProviders: providers,
        idTokenValidity: Duration.minutes(60),
        accessTokenValidity: Duration.minutes(60),
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
          callbackUrls: [callbackUrl],
          // Sign-out ends the hosted domain's session too, then comes back here.
          logoutUrls: [`${props.baseUrl}/console/signed-out`],
        },
      });
      for (const dependency of dependencies) this.client.node.addDependency(dependency);
      this.userPool = pool;
      this.issuerUrl = `https://cognito-idp.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${pool.userPoolId}`;
      clientId = this.client.userPoolClientId;
      groupsClaim = 'cognito:groups';
      // Cognito's discovery publishes no end-session endpoint: its /logout ends the session.
      fn.useSettings({ [ENV.consoleLogoutUrl]: `${this.domain.baseUrl()}/logout` });
    }

    fn.useSettings({
      [ENV.consoleBaseUrl]: props.baseUrl,
      [ENV.consoleIssuer]: this.issuerUrl,
      [ENV.consoleClientId]: clientId,
      [ENV.consoleGroupsClaim]: groupsClaim,
      [ENV.consoleSessionSigner]: 'kms',
      [ENV.consoleSessionKmsKey]: this.sessionKey.keyArn,
      [ENV.consoleIdleTimeout]: props.idleTimeout ?? 'PT15M',
      [ENV.consoleAbsoluteTimeout]: props.absoluteTimeout ?? 'PT8H',
    });

    // `/console` and `/console/{proxy+}`: open to API Gateway, the signed session is the credential.
    const root = props.api.root.addResource('console');
    const proxy = root.addResource('{proxy+}');
    for (const resource of [root, proxy]) {
      for (const method of METHODS) {
        const added = resource.addMethod(method, new apigw.LambdaIntegration(fn.fn, { allowTestInvoke: false }), {
          authorizationType: apigw.AuthorizationType.NONE,
        });
        Validations.of(added).acknowledge(
          {
            id: 'AwsSolutions-APIG4',
            reason:
              'The console signs people in itself (OpenID Connect, code + PKCE) and every request carries its KMS-signed session cookie; a gateway authorizer cannot serve the sign-in pages that come before the session.',
          },
          {
            id: 'AwsSolutions-COG4',
            reason:
              'The console verifies the Cognito (or other OIDC) ID token at sign-in and then its own signed session cookie; a Cognito authorizer would need a bearer token browsers do not send to server-rendered pages.',
          },
        );
      }
    }
  }
}
