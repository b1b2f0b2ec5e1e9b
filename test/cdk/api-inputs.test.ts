import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { GATEWAY_ERRORS } from '../../lambdas/core/http/gateway-errors';
import { GatewayErrorResponses } from '../../lib/api-inputs';

// A bare REST API: the construct needs nothing else, and this synthesizes in well under a second.
const stack = new Stack(new App(), 'Errors');
const api = new apigw.RestApi(stack, 'Api');
api.root.addMethod('GET', new apigw.MockIntegration());
new GatewayErrorResponses(stack, 'GatewayErrors', { api });
const responses = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::GatewayResponse')).map(
  (resource) =>
    resource.Properties as {
      ResponseType: string;
      StatusCode: string;
      ResponseTemplates: Record<string, string>;
      ResponseParameters: Record<string, string>;
    },
);
const byType = Object.fromEntries(responses.map((response) => [response.ResponseType, response]));

describe('gateway responses', () => {
  it('cover DEFAULT_4XX, DEFAULT_5XX and every specific refusal, each in the API error format', () => {
    expect(Object.keys(byType).sort()).toEqual(Object.keys(GATEWAY_ERRORS).sort());
    for (const required of [
      'DEFAULT_4XX',
      'DEFAULT_5XX',
      'MISSING_AUTHENTICATION_TOKEN',
      'ACCESS_DENIED',
      'REQUEST_TOO_LARGE',
      'THROTTLED',
      'UNAUTHORIZED',
      'BAD_REQUEST_BODY',
    ]) {
      const body = JSON.parse(byType[required].ResponseTemplates['application/json']) as { error: Record<string, unknown> };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toEqual({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) });
    }
  });

  it('answer an unsigned call 401 UNAUTHENTICATED, a 413 for a large body, 429 THROTTLED with Retry-After', () => {
    const code = (type: string) =>
      (JSON.parse(byType[type].ResponseTemplates['application/json']) as { error: { code: string } }).error.code;
    expect([byType.MISSING_AUTHENTICATION_TOKEN.StatusCode, code('MISSING_AUTHENTICATION_TOKEN')]).toEqual(['401', 'UNAUTHENTICATED']);
    expect([byType.ACCESS_DENIED.StatusCode, code('ACCESS_DENIED')]).toEqual(['403', 'FORBIDDEN']);
    expect(byType.REQUEST_TOO_LARGE.StatusCode).toBe('413');
    expect([byType.THROTTLED.StatusCode, code('THROTTLED')]).toEqual(['429', 'THROTTLED']);
    expect(byType.THROTTLED.ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    expect(byType.DEFAULT_5XX.StatusCode).toBe('500');
  });

  it('never echo API Gateway’s own message (it can name internals)', () => {
    for (const response of responses) expect(JSON.stringify(response.ResponseTemplates)).not.toContain('$context');
  });
});
