import type { Tenant } from '../domain/tenant';
import type { TenantStore } from '../ports';

/**
 * Tenant settings cached briefly in the process (a Lambda container), so a lifecycle's steps and
 * API calls do not each read the same tenant item. A change made here is seen at once; one made
 * by another process within `ttlMs`. Every write is still conditional on the stored version.
 */
export class CachedTenantStore implements TenantStore {
  private readonly cache = new Map<string, { tenant: Tenant | undefined; until: number }>();

  constructor(
    private readonly inner: TenantStore,
    private readonly ttlMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async get(tenantId: string): Promise<Tenant | undefined> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > this.nowMs()) return hit.tenant;
    const tenant = await this.inner.get(tenantId);
    this.cache.set(tenantId, { tenant, until: this.nowMs() + this.ttlMs });
    return tenant;
  }

  list(): Promise<Tenant[]> {
    return this.inner.list();
  }

  /** A cached "no such tenant" must not outlive the tenant's creation. */
  async create(...args: Parameters<TenantStore['create']>): Promise<boolean> {
    const created = await this.inner.create(...args);
    this.cache.delete(args[0].tenantId);
    return created;
  }

  async update(...args: Parameters<TenantStore['update']>): Promise<Tenant> {
    this.cache.delete(args[0].tenantId);
    const updated = await this.inner.update(...args);
    this.cache.set(updated.tenantId, { tenant: updated, until: this.nowMs() + this.ttlMs });
    return updated;
  }
}
