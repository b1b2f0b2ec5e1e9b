import { log, wire } from '../core/container';
import { pageOf } from '../core/domain/page-token';
import { apiHandler, json } from '../core/http/api';
import * as schema from '../core/http/schemas';
import { listDigests, verifyAudit } from '../core/usecases/ledger';
import { createTenant, getTenant, listAudit, listTenants, updateTenant } from '../core/usecases/tenants';
import { ledgerDeps } from '../core/wiring/ledger';
import { pageTokens } from '../core/wiring/page-tokens';
import { stores } from '../core/wiring/stores';

const deps = wire(stores);

/** `/tenants` routes (IAM-signed): tenants (deployment admins), a tenant's settings, its audit log, digests and verification. */
export const handler = apiHandler(
  {
    'POST /tenants': async (http) => json(201, await createTenant(deps, http.caller(), http.body(schema.createTenantBody))),
    'GET /tenants': async (http) => {
      http.query(schema.listTenantsQuery);
      return json(200, await listTenants(deps, http.caller()));
    },
    'GET /tenants/{id}': async (http) => json(200, await getTenant(deps, http.caller(), http.path('id', schema.tenantId))),
    'PUT /tenants/{id}': async (http) =>
      json(200, await updateTenant(deps, http.caller(), http.path('id', schema.tenantId), http.body(schema.tenantBody))),
    'GET /tenants/{id}/audit': async (http) => {
      const [caller, tenantId] = [http.caller(), http.path('id', schema.tenantId)];
      return json(
        200,
        await pageOf(pageTokens, 'GET /tenants/{id}/audit', { tenantId }, http.query(schema.auditQuery), (query) =>
          listAudit(deps, caller, tenantId, query),
        ),
      );
    },
    'GET /tenants/{id}/audit/digests': async (http) => {
      const [caller, tenantId] = [http.caller(), http.path('id', schema.tenantId)];
      return json(
        200,
        await pageOf(pageTokens, 'GET /tenants/{id}/audit/digests', { tenantId }, http.query(schema.auditQuery), (query) =>
          listDigests(deps, ledgerDeps, caller, tenantId, query),
        ),
      );
    },
    'GET /tenants/{id}/audit/verify': async (http) =>
      json(200, await verifyAudit(deps, ledgerDeps, http.caller(), http.path('id', schema.tenantId))),
  },
  log,
);
