import { App, SecretValue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV } from '../../lambdas/core/config';
import { parseConfig } from '../../lib/config';
import { Lockbox } from '../../lib/lockbox';

/** The console's CDK: Cognito by default (pool, hosted domain, code + PKCE client), or another issuer; its routes and session key. */
const config = parseConfig(
  {
    providerAccount: '111111111111',
    engineers: [{ principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/*', sessionNameSetBy: 'idp' }],
    managers: [{ principal: 'arn:aws:sts::111111111111:assumed-role/SupportManager/mallory', email: 'mallory@provider.example' }],
    email: { sender: 'lockbox@provider.example', identity: 'provider.example' },
  },
  'test',
);

const synth = (
  consoleProps:
    | ConstructorParameters<typeof Lockbox>[2]['console']
    | ((stack: Stack) => ConstructorParameters<typeof Lockbox>[2]['console']),
) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const lockbox = new Lockbox(stack, 'Lockbox', {
    ...config,
    prefix: 'test',
    console: typeof consoleProps === 'function' ? consoleProps(stack) : consoleProps,
  });
  return { stack, lockbox, template: Template.fromStack(stack) };
};

const cognito = synth({
  federate: {
    oidc: {
      name: 'CustomerEntra',
      issuerUrl: 'https://login.microsoftonline.com/tenant/v2.0',
      clientId: 'abc',
      clientSecret: SecretValue.secretsManager('customer-idp-secret'),
    },
    saml: { name: 'CustomerSaml', metadataUrl: 'https://idp.customer.example/metadata.xml' },
  },
});
const other = synth((stack) => ({
  issuer: {
    issuerUrl: 'https://login.customer.example',
    clientId: 'lockbox',
    clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'IdpSecret', 'lockbox-console-client'),
    groupsClaim: 'roles',
  },
}));

const consoleEnv = (template: Template) => {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('customer console') },
  });
  const [fn] = Object.values(functions);
  return fn.Properties.Environment.Variables as Record<string, unknown>;
};

describe('console with the default Cognito user pool', () => {
  it('creates a pool without self sign-up, MFA required, sign-in by email', () => {
    cognito.template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      UsernameAttributes: ['email'],
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true }) },
    });
  });

  it('creates a hosted sign-in domain', () => {
    cognito.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: Match.anyValue(), UserPoolId: Match.anyValue() });
  });

  it('creates a public app client for the authorization code flow, calling back to /console/callback', () => {
    cognito.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: Match.arrayWith(['openid', 'email']),
      CallbackURLs: [Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/v1/console/callback'])] })],
      SupportedIdentityProviders: ['COGNITO', 'CustomerEntra', 'CustomerSaml'],
    });
  });

  it("signs out at the hosted domain's /logout, which may only send the browser back to /console/signed-out", () => {
    cognito.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      LogoutURLs: [Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/v1/console/signed-out'])] })],
    });
    expect(JSON.stringify(consoleEnv(cognito.template)[ENV.consoleLogoutUrl])).toMatch(/\.auth\..*amazoncognito\.com\/logout/);
    expect(consoleEnv(other.template)[ENV.consoleLogoutUrl]).toBeUndefined();
  });

  it("federates the customer's OIDC and SAML IdPs, the OIDC secret by dynamic reference", () => {
    cognito.template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderType: 'OIDC',
      ProviderName: 'CustomerEntra',
      ProviderDetails: Match.objectLike({ client_secret: '{{resolve:secretsmanager:customer-idp-secret:SecretString:::}}' }),
      AttributeMapping: { email: 'email', email_verified: 'email_verified' },
    });
    cognito.template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderType: 'SAML',
      ProviderName: 'CustomerSaml',
    });
  });

  it('signs sessions with its own KMS HMAC key, which only the console function may use', () => {
    cognito.template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
      Description: 'Lockbox console sessions (HMAC)',
    });
    const env = consoleEnv(cognito.template);
    expect(env[ENV.consoleSessionSigner]).toBe('kms');
    expect(env[ENV.consoleGroupsClaim]).toBe('cognito:groups');
    expect(JSON.stringify(env[ENV.consoleIssuer])).toContain('cognito-idp.');
    expect(env[ENV.consoleIdleTimeout]).toBe('PT15M');
  });

  it("reads the digest key's public key (only that, never Sign), so the audit page verifies the signed digests", () => {
    const env = consoleEnv(cognito.template);
    expect(env[ENV.digestSigner]).toBe('kms');
    const [signingKey] = Object.keys(cognito.template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }));
    expect(env[ENV.digestKmsKey]).toEqual({ 'Fn::GetAtt': [signingKey, 'Arn'] });
    const consolePolicies = Object.values(cognito.template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('Console'),
    );
    const statements = consolePolicies.flatMap((policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    const onSigningKey = statements.filter((statement) => JSON.stringify(statement.Resource).includes(signingKey));
    expect(onSigningKey).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'kms:GetPublicKey' })]);
    expect(JSON.stringify(statements)).not.toContain('kms:Sign');
  });

  it('serves /console and /console/{proxy+} without a gateway authorizer, open in the resource policy', () => {
    const resources = cognito.template.findResources('AWS::ApiGateway::Resource');
    const paths = Object.values(resources).map((resource) => resource.Properties.PathPart);
    expect(paths).toEqual(expect.arrayContaining(['console', '{proxy+}']));
    const methods = Object.values(cognito.template.findResources('AWS::ApiGateway::Method')).filter((method) =>
      Object.entries(resources).some(
        ([id, resource]) => ['console', '{proxy+}'].includes(resource.Properties.PathPart) && method.Properties.ResourceId?.Ref === id,
      ),
    );
    expect(methods.map((method) => method.Properties.HttpMethod).sort()).toEqual(['GET', 'GET', 'HEAD', 'HEAD', 'POST', 'POST']);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('NONE');
    const api = Object.values(cognito.template.findResources('AWS::ApiGateway::RestApi'))[0];
    const deny = api.Properties.Policy.Statement.find((statement: { Sid?: string }) => statement.Sid === 'NobodyElse');
    expect(deny.NotResource).toEqual(expect.arrayContaining(['execute-api:/*/*/console', 'execute-api:/*/*/console/*']));
  });

  it('passes cdk-nag with only the acknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(cognito.stack);
    expect(
      report.violations.map((violation) => `${violation.ruleName} ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('console with another OIDC issuer', () => {
  it('creates no user pool and points the console at the issuer', () => {
    other.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    const env = consoleEnv(other.template);
    expect(env[ENV.consoleIssuer]).toBe('https://login.customer.example');
    expect(env[ENV.consoleClientId]).toBe('lockbox');
    expect(env[ENV.consoleGroupsClaim]).toBe('roles');
    expect(env[ENV.consoleClientSecretArn]).toBeDefined();
    expect(env[ENV.consoleClientSecret]).toBeUndefined();
  });

  it('lets the console function read the client secret, and nothing else does', () => {
    const policies = Object.values(other.template.findResources('AWS::IAM::Policy'));
    const readers = policies.filter((policy) => JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'));
    expect(readers).toHaveLength(1);
    expect(JSON.stringify(readers[0].Properties.Roles)).toContain('Console');
  });

  it('refuses both federation and another issuer', () => {
    expect(() =>
      synth({
        issuer: { issuerUrl: 'https://x.example', clientId: 'a' },
        federate: { saml: { name: 'S', metadataUrl: 'https://x.example/m' } },
      }),
    ).toThrow(/either issuer .* or federate/);
  });
});
