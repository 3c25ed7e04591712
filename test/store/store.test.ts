/**
 * The storage conformance suite (as dex does it): one set of behaviours, run
 * against every engine. SQLite always; PostgreSQL when DATABASE_URL is set
 * (each run in its own schema).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestStore, type TestStoreHandle } from '../helpers/network.js';
import { now, hashSecret, verifySecret, type Store } from '../../src/store/store.js';
import { adapterFactory } from '../../src/store/oidc-adapter.js';
import { ensureKeys, rotateKeys, toProviderJwks, KEY_RETENTION_SECONDS } from '../../src/keys/keys.js';

const engine = process.env.DATABASE_URL ? 'postgres' : 'sqlite';
const artifacts = process.env.REDIS_URL ? ' + redis' : '';

describe(`store conformance (${engine}${artifacts})`, () => {
  let h: TestStoreHandle;
  let store: Store;
  before(async () => {
    h = await openTestStore();
    store = h.store;
  });
  after(async () => h?.cleanup());

  test('engine is the one configured', () => assert.equal(store.engine, engine));

  test('migrations are idempotent: reopening the same data works', async () => {
    const again = await h.reopen();
    await again.ping();
    await again.close();
  });

  test('oidc adapter: upsert, find, findByUid, findByUserCode, consume, destroy', async () => {
    const Adapter = adapterFactory(store, 'conf');
    const a = new Adapter('Session');
    await a.upsert('s1', { uid: 'u1', accountId: 'acc', userCode: 'UC1' } as any, 60);
    assert.equal(((await a.find('s1')) as any).accountId, 'acc');
    assert.equal(((await a.findByUid('u1')) as any).accountId, 'acc');
    assert.equal(((await a.findByUserCode('UC1')) as any).accountId, 'acc');
    await a.upsert('s1', { uid: 'u1', accountId: 'changed' } as any, 60);
    assert.equal(((await a.find('s1')) as any).accountId, 'changed');
    await a.consume('s1');
    assert.ok(((await a.find('s1')) as any).consumed > 0);
    await a.destroy('s1');
    assert.equal(await a.find('s1'), undefined);
    assert.equal(await new Adapter('Other').find('s1'), undefined);
  });

  test('oidc adapter: models and namespaces are separate', async () => {
    const A = adapterFactory(store, 'ns1');
    const B = adapterFactory(store, 'ns2');
    await new A('AccessToken').upsert('same', { v: 1 } as any, 60);
    await new B('AccessToken').upsert('same', { v: 2 } as any, 60);
    await new A('Grant').upsert('same', { v: 3 } as any, 60);
    assert.equal(((await new A('AccessToken').find('same')) as any).v, 1);
    assert.equal(((await new B('AccessToken').find('same')) as any).v, 2);
    assert.equal(((await new A('Grant').find('same')) as any).v, 3);
  });

  test('oidc adapter: revokeByGrantId removes only that grant in that model', async () => {
    const A = adapterFactory(store, 'grants');
    const at = new A('AccessToken');
    await at.upsert('t1', { grantId: 'g1' } as any, 60);
    await at.upsert('t2', { grantId: 'g1' } as any, 60);
    await at.upsert('t3', { grantId: 'g2' } as any, 60);
    await new A('RefreshToken').upsert('r1', { grantId: 'g1' } as any, 60);
    await at.revokeByGrantId('g1');
    assert.equal(await at.find('t1'), undefined);
    assert.equal(await at.find('t2'), undefined);
    assert.ok(await at.find('t3'));
    assert.ok(await new A('RefreshToken').find('r1'));
  });

  test('expired records are invisible and swept', async () => {
    await store.upsertOidc('conf:Expiring', 'e1', { x: 1 }, 60);
    assert.ok(await store.findOidc('conf:Expiring', 'e1'));
    await store.expireOidcNow('conf:Expiring', 'e1');
    assert.equal(await store.findOidc('conf:Expiring', 'e1'), undefined);
    assert.equal(await store.takeOidc('conf:Expiring', 'e1'), undefined);
    await store.putTransaction({ state: 'old', interactionUid: 'i', bankId: 'b', payload: {}, expiresAt: now() - 1 });
    const removed = await store.sweepExpired();
    assert.ok(removed >= 1);
    assert.equal(await store.takeTransaction('old'), undefined);
    if (!store.redis) assert.equal((await store.db.selectFrom('oidc_models').select('id').where('id', '=', 'e1').execute()).length, 0, 'swept from SQL');
  });

  test('artifacts expire by their TTL', async () => {
    await store.upsertOidc('conf:Short', 's1', { x: 1 }, 1);
    assert.ok(await store.findOidc('conf:Short', 's1'));
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal(await store.findOidc('conf:Short', 's1'), undefined);
  });

  test('take is single use under concurrency', async () => {
    await store.upsertOidc('conf:Once', 'o1', { v: 1 }, 60);
    const got = await Promise.all([1, 2, 3].map(() => store.takeOidc('conf:Once', 'o1')));
    assert.equal(got.filter(Boolean).length, 1);
  });

  test('upstream transactions are taken once', async () => {
    await store.putTransaction({ state: 'st1', interactionUid: 'i1', bankId: 'b1', payload: { nonce: 'n' }, expiresAt: now() + 60 });
    const [a, b] = await Promise.all([store.takeTransaction('st1'), store.takeTransaction('st1')]);
    assert.equal([a, b].filter(Boolean).length, 1);
    assert.equal((a ?? b)!.payload.nonce, 'n');
    assert.equal(await store.takeTransaction('st1'), undefined);
  });

  test('applications: secrets are hashed, rotated, and records are deleted', async () => {
    const { application, clientSecret } = await store.createApplication({ name: 'A', redirectUris: ['https://a.example/cb'], authMethod: 'client_secret_basic', ownerId: 'owner1' });
    assert.ok(clientSecret && clientSecret.length >= 43);
    assert.equal(application.secretHash, hashSecret(clientSecret));
    assert.ok(verifySecret(clientSecret, application.secretHash));
    assert.ok(!verifySecret(`${clientSecret}x`, application.secretHash));
    const rotated = await store.rotateApplicationSecret(application.clientId);
    const after = await store.getApplication(application.clientId);
    assert.ok(verifySecret(rotated!, after!.secretHash));
    assert.ok(!verifySecret(clientSecret, after!.secretHash));
    assert.deepEqual((await store.listApplications('owner1')).map((a) => a.clientId), [application.clientId]);
    assert.equal((await store.listApplications('nobody')).length, 0);
    const pkj = await store.createApplication({ name: 'B', redirectUris: ['https://b.example/cb'], authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'EC' }] } });
    assert.equal(pkj.clientSecret, null);
    assert.equal(await store.deleteApplication(application.clientId), true);
    assert.equal(await store.getApplication(application.clientId), undefined);
    assert.equal(await store.deleteApplication(application.clientId), false);
  });

  test('applications: updates; switching auth method drops or issues the secret', async () => {
    const { application, clientSecret } = await store.createApplication({ name: 'U', redirectUris: ['https://u.example/cb'], authMethod: 'client_secret_basic', ownerId: 'owner2' });
    const renamed = await store.updateApplication(application.clientId, { name: 'U2', logoUri: 'https://u.example/logo.png', originUrl: 'https://u.example/', redirectUris: ['https://u.example/cb', 'https://u.example/cb2'] });
    assert.ok(renamed);
    assert.equal(renamed.clientSecret, null, 'no new secret when the method stays secret-based');
    assert.equal(renamed.application.name, 'U2');
    assert.equal(renamed.application.logoUri, 'https://u.example/logo.png');
    assert.equal(renamed.application.originUrl, 'https://u.example/');
    assert.deepEqual(renamed.application.redirectUris, ['https://u.example/cb', 'https://u.example/cb2']);
    assert.equal(renamed.application.ownerId, 'owner2');
    assert.ok(verifySecret(clientSecret!, renamed.application.secretHash));
    const post = await store.updateApplication(application.clientId, { authMethod: 'client_secret_post' });
    assert.equal(post!.clientSecret, null);
    assert.ok(verifySecret(clientSecret!, post!.application.secretHash), 'basic -> post keeps the secret');
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] };
    const toJwt = await store.updateApplication(application.clientId, { authMethod: 'private_key_jwt', jwks, jwksUri: null });
    assert.equal(toJwt!.application.secretHash, null, 'private_key_jwt drops the secret hash');
    assert.deepEqual(toJwt!.application.jwks, jwks);
    const back = await store.updateApplication(application.clientId, { authMethod: 'client_secret_basic', jwks: null });
    assert.ok(back!.clientSecret);
    assert.ok(verifySecret(back!.clientSecret, back!.application.secretHash), 'switching back issues a new secret');
    assert.equal(back!.application.jwks, null);
    assert.equal(await store.updateApplication('tl_nope', { name: 'x' }), undefined);
  });

  test('banks: by id or slug, unique slugs, updates', async () => {
    const bank = await store.createBank({
      slug: 'conf-bank', name: 'Conformance Bank', logoUrl: null, countries: ['US', 'CA'], kind: 'oauth2', issuer: null,
      authorizationUrl: 'https://b/auth', tokenUrl: 'https://b/token', userinfoUrl: 'https://b/me', clientId: 'c', authMethod: 'client_secret_post',
      credentials: { client_secret: 's' }, scope: 'identity', claimMapping: { sub: 'id' }, pkce: false, visible: true, sandbox: false, timeoutMs: 1000,
    });
    assert.equal((await store.getBank('conf-bank'))!.id, bank.id);
    assert.deepEqual((await store.getBank(bank.id))!.countries, ['US', 'CA']);
    assert.equal((await store.getBank(bank.id))!.pkce, false);
    await assert.rejects(store.createBank({ ...bank, id: undefined }));
    await store.updateBank(bank.id, { visible: false });
    assert.equal((await store.getBank(bank.id))!.visible, false);
  });

  test('accounts: one per (bank, subject), concurrent first logins agree', async () => {
    const ids = await Promise.all([1, 2, 3, 4].map((i) => store.upsertAccount('bankX', 'person-1', { n: i })));
    assert.equal(new Set(ids.map((a) => a.id)).size, 1);
    const other = await store.upsertAccount('bankY', 'person-1', {});
    assert.notEqual(other.id, ids[0]!.id);
    const latest = await store.upsertAccount('bankX', 'person-1', { email: 'new@example.com' });
    assert.equal(latest.id, ids[0]!.id);
    assert.equal((await store.getAccount(latest.id))!.claims.email, 'new@example.com');
  });

  test('settings: the first value wins', async () => {
    const [a, b] = await Promise.all([store.setSettingIfAbsent('conf:k', 'one'), store.setSettingIfAbsent('conf:k', 'two')]);
    assert.equal(a, b);
    await store.setSetting('conf:k', 'three');
    assert.equal(await store.getSetting('conf:k'), 'three');
  });

  test('keys: nodes starting together agree on one first key', async () => {
    const lists = await Promise.all([1, 2, 3, 4].map(() => ensureKeys(store, 'race-owner', 'RS256')));
    const kids = new Set(lists.flatMap((l) => l.map((k) => k.kid)));
    assert.equal(kids.size, 1);
    assert.equal((await store.listKeys('race-owner')).filter((k) => k.status === 'active').length, 1);
  });

  test('keys: generated once, rotated, retired keys published then pruned', async () => {
    const first = await ensureKeys(store, 'conf-owner', 'PS256');
    assert.equal(first.length, 1);
    assert.equal((await ensureKeys(store, 'conf-owner', 'PS256')).length, 1);
    const { kid, retired } = await rotateKeys(store, 'conf-owner', 'PS256');
    assert.deepEqual(retired, [first[0]!.kid]);
    const jwks = toProviderJwks(await store.listKeys('conf-owner'));
    assert.equal(jwks.keys[0]!.kid, kid, 'the new key signs');
    assert.equal(jwks.keys[1]!.kid, first[0]!.kid, 'the old key still verifies');
    await store.db.updateTable('signing_keys').set({ retired_at: now() - KEY_RETENTION_SECONDS - 10 }).where('kid', '=', first[0]!.kid).execute();
    assert.equal(toProviderJwks(await store.listKeys('conf-owner')).keys.length, 1);
    await rotateKeys(store, 'conf-owner', 'PS256');
    assert.ok(!(await store.listKeys('conf-owner')).some((k) => k.kid === first[0]!.kid), 'pruned after retention');
  });
});
