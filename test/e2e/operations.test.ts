/**
 * Operating the network: restarts mid-login, key rotation, the CLI, discovery,
 * PKCE rules, token revocation and introspection, health and metrics.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Agent } from '../helpers/agent.js';
import { APP_REDIRECT, authorizationRequest, callbackParams, createTestApp, loginThroughBank, openTestStore, startTestNetwork, submit, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { runCli } from '../../src/cli/index.js';

let handle: TestStoreHandle;
let net: TestNetwork;

before(async () => {
  handle = await openTestStore();
  net = await startTestNetwork(handle.store);
});
after(async () => {
  await net?.close();
  await handle?.cleanup();
});

test('discovery advertises the IDPartner paths under {PUBLIC_URL}/oidc', async () => {
  const res = await fetch(`${net.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const d = (await res.json()) as Record<string, unknown>;
  assert.equal(d.issuer, net.issuer);
  assert.equal(d.authorization_endpoint, `${net.issuer}/auth`);
  assert.equal(d.token_endpoint, `${net.issuer}/token`);
  assert.equal(d.userinfo_endpoint, `${net.issuer}/me`);
  assert.equal(d.jwks_uri, `${net.issuer}/jwks`);
  assert.equal(d.pushed_authorization_request_endpoint, `${net.issuer}/request`);
  assert.equal(d.introspection_endpoint, `${net.issuer}/token/introspection`);
  assert.equal(d.revocation_endpoint, `${net.issuer}/token/revocation`);
  assert.equal(d.end_session_endpoint, `${net.issuer}/session/end`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  for (const s of ['openid', 'email', 'profile', 'address', 'phone', 'age_over_18', 'age_over_21', 'age_over_25']) assert.ok((d.scopes_supported as string[]).includes(s), s);
  const jwks = (await (await fetch(`${net.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
  assert.ok(jwks.keys.length >= 1);
  for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private member in the JWKS');
});

test('PAR at /request works for a confidential client', async () => {
  const app = await createTestApp(net);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = await client.buildAuthorizationUrlWithPAR(app.config, {
    redirect_uri: APP_REDIRECT,
    scope: 'openid email',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    identity_provider_id: 'mikomo',
  });
  assert.match(url.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
  const page = await loginThroughBank(new Agent(), { url: url.href, state, nonce: '', verifier }, { username: 'mikomo_10', skipChooser: true });
  const tokens = await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.claims()!.email, 'PhilipHLovett@mikomotest.com');
});

test('PKCE is required for public clients, optional (but checked) for confidential ones; nonce is optional', async () => {
  const pub = await createTestApp(net, { authMethod: 'none' });
  const noPkce = client.buildAuthorizationUrl(pub.config, { redirect_uri: APP_REDIRECT, scope: 'openid', state: 's1' });
  const page = await new Agent().go(noPkce.href, {}, APP_REDIRECT);
  assert.equal(callbackParams(page).get('error'), 'invalid_request');
  assert.equal(callbackParams(page).get('state'), 's1');

  // Auth0-style: confidential client, no PKCE, no nonce.
  const conf = await createTestApp(net);
  const url = client.buildAuthorizationUrl(conf.config, { redirect_uri: APP_REDIRECT, scope: 'openid email profile', state: 's2', identity_provider_id: 'mikomo' });
  const done = await loginThroughBank(new Agent(), { url: url.href, state: 's2', nonce: '', verifier: '' }, { username: 'mikomo_10', skipChooser: true });
  const tokens = await client.authorizationCodeGrant(conf.config, new URL(done.url), { expectedState: 's2' });
  const id = tokens.claims()!;
  assert.equal(id.nonce, undefined);
  assert.equal(id.email, 'PhilipHLovett@mikomotest.com');
});

test('revoked access tokens stop working at /me; introspection reports them inactive', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
  const page = await loginThroughBank(new Agent(), req, { username: 'mikomo_10', skipChooser: true });
  const tokens = await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  assert.equal((await client.tokenIntrospection(app.config, tokens.access_token)).active, true);
  await client.tokenRevocation(app.config, tokens.access_token);
  assert.equal((await client.tokenIntrospection(app.config, tokens.access_token)).active, false);
  const me = await fetch(`${net.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 401);
});

test('a process restart in the middle of a login loses nothing', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app);
  const agent = new Agent();
  const chooser = await agent.go(req.url, {}, APP_REDIRECT);
  const bankLogin = await submit(agent, chooser, '/bank', { bank: 'mikomo' });
  assert.match(bankLogin.body, /Sign in to Mikomo Bank/);

  // Stop the node, start a new one on the same port and the same store.
  const port = new URL(net.url).port;
  await net.close();
  await handle.store.close();
  const store = await handle.reopen();
  handle.store = store;
  net = await startTestNetwork(store, { PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` });

  const consent = await submit(agent, bankLogin, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  assert.match(consent.body, /name="decision" value="allow"/);
  const port2 = new URL(net.url).port;
  await net.close();
  net = await startTestNetwork(store, { PORT: port2, PUBLIC_URL: `http://127.0.0.1:${port2}` });
  const done = await submit(agent, consent, '/consent', { decision: 'allow' });
  const tokens = await client.authorizationCodeGrant(app.config, new URL(done.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  assert.equal(tokens.claims()!.email, 'PhilipHLovett@mikomotest.com');
});

test('key rotation: new tokens use the new key, tokens already issued still verify', async () => {
  const app = await createTestApp(net);
  const issue = async () => {
    const req = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
    const page = await loginThroughBank(new Agent(), req, { username: 'mikomo_10', skipChooser: true });
    return (await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce })).id_token!;
  };
  const before = await issue();
  const out: string[] = [];
  await runCli(['keys', 'rotate'], net.store, (l) => out.push(l));
  assert.match(out[0]!, /New signing key/);
  assert.equal(await net.running.reloadKeys(), true);
  const after = await issue();
  const kid = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid;
  assert.notEqual(kid(before), kid(after));
  const jwks = createRemoteJWKSet(new URL(`${net.issuer}/jwks`));
  for (const t of [before, after]) await jwtVerify(t, jwks, { issuer: net.issuer, audience: app.clientId });
});

test('CLI: apps create prints credentials once that work end to end; banks disable hides a bank', async () => {
  const out: string[] = [];
  await runCli(['apps', 'create', '--name', 'CLI App', '--redirect-uri', APP_REDIRECT, '--auth-method', 'client_secret_basic', '--json'], net.store, (l) => out.push(l));
  const { client_id, client_secret } = JSON.parse(out[0]!) as { client_id: string; client_secret: string };
  const stored = await net.store.getApplication(client_id);
  assert.equal(stored!.kind, 'sandbox');
  assert.notEqual(stored!.secretHash, client_secret, 'the secret is not stored in plaintext');
  assert.ok(!JSON.stringify(stored).includes(client_secret));
  const config = await client.discovery(new URL(net.issuer), client_id, client_secret, client.ClientSecretBasic(client_secret), { execute: [client.allowInsecureRequests] });
  const app = { clientId: client_id, clientSecret: client_secret, config };
  const req = await authorizationRequest(app, { identity_provider_id: 'future' });
  const page = await loginThroughBank(new Agent(), req, { username: 'future_1', skipChooser: true });
  const tokens = await client.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  assert.equal(tokens.claims()!.given_name, 'Amelia');

  const bad = client.discovery(new URL(net.issuer), client_id, 'wrong', client.ClientSecretBasic('wrong'), { execute: [client.allowInsecureRequests] });
  const wrongCfg = await bad;
  await assert.rejects(client.authorizationCodeGrant(wrongCfg, new URL(`${APP_REDIRECT}?code=x&state=y&iss=${encodeURIComponent(net.issuer)}`), { expectedState: 'y' }), (e: any) => e.status === 401 && e.cause?.[0]?.parameters?.error === 'invalid_client');

  await assert.rejects(runCli(['apps', 'create', '--name', 'x', '--redirect-uri', 'javascript:alert(1)'], net.store, () => {}), /must be https/);
  await assert.rejects(runCli(['apps', 'create', '--redirect-uri', APP_REDIRECT], net.store, () => {}), /--name is required/);

  const list: string[] = [];
  await runCli(['banks', 'list'], net.store, (l) => list.push(l));
  assert.ok(list.some((l) => /\tmikomo\tMikomo Bank\toidc\tyes\tyes/.test(l)));
  await runCli(['banks', 'disable', 'future'], net.store, () => {});
  try {
    const chooser = await new Agent().go((await authorizationRequest(app)).url, {}, APP_REDIRECT);
    assert.doesNotMatch(chooser.body, /Future Bank/);
    assert.match(chooser.body, /Mikomo Bank/);
  } finally {
    await runCli(['banks', 'enable', 'future'], net.store, () => {});
  }
});

test('health, readiness and metrics', async () => {
  assert.equal((await fetch(`${net.url}/healthz`)).status, 200);
  const ready = await fetch(`${net.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { store: string }).store, process.env.DATABASE_URL ? 'postgres' : 'sqlite');
  const metrics = await (await fetch(`${net.url}/metrics`)).text();
  assert.match(metrics, /trustlane_bank_logins_completed_total\{bank="mikomo"\} [1-9]/);
});
