import { log, wire } from '../core/container';
import { pageOf } from '../core/domain/page-token';
import { apiHandler, json } from '../core/http/api';
import * as schema from '../core/http/schemas';
import { countMetric } from '../core/observability';
import { METRIC } from '../core/telemetry';
import { cancelRequest, decideAsCustomer, decideAsManager } from '../core/usecases/decisions';
import { createRequest, getRequest, listRequests } from '../core/usecases/requests';
import { revokeAccess } from '../core/usecases/tenants';
import { access } from '../core/wiring/access';
import { mailer } from '../core/wiring/mailer';
import { pageTokens } from '../core/wiring/page-tokens';
import { stores } from '../core/wiring/stores';
import { workflow } from '../core/wiring/workflow';

const deps = wire({ ...stores, access, mailer, workflow });

/** `/requests` routes (IAM-signed): file, read, list, decide, cancel, revoke. */
export const handler = apiHandler(
  {
    'POST /requests': async (http) => {
      const { request, created } = await createRequest(deps, http.caller(), http.body(schema.createRequestBody));
      return json(created ? 201 : 200, request);
    },
    'GET /requests': async (http) => {
      const caller = http.caller();
      return json(
        200,
        await pageOf(pageTokens, 'GET /requests', {}, http.query(schema.listRequestsQuery), (query) => listRequests(deps, caller, query)),
      );
    },
    'GET /requests/{id}': async (http) => json(200, await getRequest(deps, http.caller(), http.path('id', schema.requestId))),
    'POST /requests/{id}/manager-decision': async (http) => {
      const body = http.body(schema.managerDecisionBody);
      const request = await decideAsManager(deps, http.caller(), http.path('id', schema.requestId), body);
      countMetric(METRIC.decisions, { stage: 'manager', decision: body.decision });
      return json(200, request);
    },
    'POST /requests/{id}/customer-decision': async (http) => {
      const body = http.body(schema.customerDecisionBody);
      const request = await decideAsCustomer(deps, http.caller(), http.path('id', schema.requestId), body);
      countMetric(METRIC.decisions, { stage: 'customer', decision: body.decision });
      return json(200, request);
    },
    'POST /requests/{id}/cancel': async (http) => {
      http.body(schema.cancelBody);
      return json(200, await cancelRequest(deps, http.caller(), http.path('id', schema.requestId)));
    },
    'POST /requests/{id}/revoke': async (http) => {
      const request = await revokeAccess(deps, http.caller(), http.path('id', schema.requestId), http.body(schema.revokeBody));
      countMetric(METRIC.revokes, { reason: 'early' });
      return json(200, request);
    },
  },
  log,
);
