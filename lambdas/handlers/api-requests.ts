import { deps, log, pageTokens } from '../core/container';
import { pageOf } from '../core/domain/page-token';
import { apiHandler, json } from '../core/http/api';
import * as schema from '../core/http/schemas';
import { cancelRequest, decideAsCustomer, decideAsManager } from '../core/usecases/decisions';
import { createRequest, getRequest, listRequests } from '../core/usecases/requests';
import { revokeAccess } from '../core/usecases/tenants';

/** `/requests` routes (IAM-signed): file, read, list, decide, cancel, revoke. */
export const handler = apiHandler(
  {
    'POST /requests': async (http) => {
      const { request, created } = await createRequest(deps, http.caller(), http.body(schema.createRequestBody));
      return json(created ? 201 : 200, request);
    },
    'GET /requests': async (http) => {
      const caller = http.caller();
      return json(200, await pageOf(pageTokens, 'GET /requests', {}, http.query(schema.listRequestsQuery), (query) => listRequests(deps, caller, query)));
    },
    'GET /requests/{id}': async (http) => json(200, await getRequest(deps, http.caller(), http.path('id', schema.requestId))),
    'POST /requests/{id}/manager-decision': async (http) =>
      json(200, await decideAsManager(deps, http.caller(), http.path('id', schema.requestId), http.body(schema.managerDecisionBody))),
    'POST /requests/{id}/customer-decision': async (http) =>
      json(200, await decideAsCustomer(deps, http.caller(), http.path('id', schema.requestId), http.body(schema.customerDecisionBody))),
    'POST /requests/{id}/cancel': async (http) => {
      http.body(schema.cancelBody);
      return json(200, await cancelRequest(deps, http.caller(), http.path('id', schema.requestId)));
    },
    'POST /requests/{id}/revoke': async (http) =>
      json(200, await revokeAccess(deps, http.caller(), http.path('id', schema.requestId), http.body(schema.revokeBody))),
  },
  log,
);
