/**
 * oidc-provider adapter over the store. One factory per provider instance; the
 * namespace keeps the network's artifacts apart from each sandbox bank's.
 * See https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 * for the contract.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Store } from './store.js';

export type ClientLoader = (clientId: string) => Promise<AdapterPayload | undefined>;

export function adapterFactory(store: Store, namespace: string, loadClient?: ClientLoader) {
  return class StoreAdapter implements Adapter {
    private readonly model: string;
    constructor(private readonly name: string) {
      this.model = `${namespace}:${name}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await store.upsertOidc(this.model, id, payload as Record<string, unknown>, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.name === 'Client' && loadClient) return loadClient(id);
      const r = await store.findOidc(this.model, id);
      if (!r) return undefined;
      return { ...r.payload, ...(r.consumedAt ? { consumed: r.consumedAt } : {}) } as AdapterPayload;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await store.findOidcByUserCode(this.model, userCode))?.payload as AdapterPayload | undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await store.findOidcByUid(this.model, uid))?.payload as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      await store.consumeOidc(this.model, id);
    }

    async destroy(id: string): Promise<void> {
      await store.destroyOidc(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await store.revokeOidcByGrantId(this.model, grantId);
    }
  };
}
