/**
 * Item 8 of the network core: once the redirect_uri is known, every failure
 * returns to the app with a spec error and the app's state.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Agent, formOf } from '../helpers/agent.js';
import { APP_REDIRECT, authorizationRequest, callbackParams, createTestApp, loginThroughBank, openTestStore, startTestNetwork, submit, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { deadUrl, registerBank, startFailingServer, startHangingServer, startTamperingBank } from '../helpers/fault-banks.js';

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

async function expectAppError(bankSlug: string, error: string) {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { identity_provider_id: bankSlug });
  const started = Date.now();
  const page = await new Agent().go(req.url, {}, APP_REDIRECT);
  const params = callbackParams(page);
  assert.equal(params.get('error'), error, `expected ${error}, got ${page.url}`);
  assert.equal(params.get('state'), req.state);
  assert.equal(params.get('iss'), net.issuer);
  assert.doesNotMatch(params.get('error_description') ?? '', /ECONN|stack|at \w+ \(/, 'no raw reason is shown');
  return Date.now() - started;
}

test('a bank that is down: temporarily_unavailable', async () => {
  await registerBank(net.store, { slug: 'down-bank', issuer: await deadUrl() });
  await expectAppError('down-bank', 'temporarily_unavailable');
});

test('a bank that hangs past its timeout: temporarily_unavailable, within the timeout', async () => {
  const hanging = await startHangingServer();
  try {
    await registerBank(net.store, { slug: 'slow-bank', issuer: hanging.url, timeoutMs: 400 });
    const took = await expectAppError('slow-bank', 'temporarily_unavailable');
    assert.ok(took < 5000, `answered after ${took} ms`);
  } finally {
    await hanging.close();
  }
});

test('a bank answering 5xx: temporarily_unavailable (oidc discovery and oauth2 token endpoint)', async () => {
  const failing = await startFailingServer(503);
  try {
    await registerBank(net.store, { slug: 'error-bank', issuer: failing.url });
    await expectAppError('error-bank', 'temporarily_unavailable');
  } finally {
    await failing.close();
  }
});

test('a 5xx from an oauth2 bank token endpoint after the login: temporarily_unavailable', async () => {
  const failing = await startFailingServer(502);
  try {
    const future = (await net.store.getBank('future'))!;
    await registerBank(net.store, {
      slug: 'future-broken-token',
      kind: 'oauth2',
      issuer: future.issuer,
      authorizationUrl: future.authorizationUrl,
      tokenUrl: `${failing.url}/token`,
      userinfoUrl: future.userinfoUrl,
      authMethod: 'client_secret_post',
      credentials: future.credentials,
      scope: 'identity',
      claimMapping: future.claimMapping,
    });
    const app = await createTestApp(net);
    const req = await authorizationRequest(app, { identity_provider_id: 'future-broken-token' });
    const page = await loginThroughBank(new Agent(), req, { username: 'future_1', skipChooser: true });
    assert.equal(callbackParams(page).get('error'), 'temporarily_unavailable');
    assert.equal(callbackParams(page).get('state'), req.state);
  } finally {
    await failing.close();
  }
});

for (const [tamper, what] of [
  ['id_token_signature', 'a tampered ID token signature'],
  ['issuer', 'a wrong issuer in the authorization response'],
  ['state', 'a wrong state in the authorization response'],
] as const) {
  test(`a bank answering with ${what}: server_error`, async () => {
    const evil = await startTamperingBank(net, tamper);
    try {
      const app = await createTestApp(net);
      const req = await authorizationRequest(app, { identity_provider_id: evil.bank.slug });
      const agent = new Agent();
      const login = await agent.go(req.url, {}, APP_REDIRECT);
      assert.match(login.body, /Sign in to Evil Bank/);
      const page = await submit(agent, login, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
      const params = callbackParams(page);
      assert.equal(params.get('error'), 'server_error');
      assert.equal(params.get('state'), req.state);
      assert.equal(params.get('code'), null);
    } finally {
      await evil.close();
    }
  });
}

test('the same bank untampered works (the fault tests above can fail for the right reason only)', async () => {
  const good = await startTamperingBank(net, 'none');
  try {
    const app = await createTestApp(net);
    const req = await authorizationRequest(app, { identity_provider_id: good.bank.slug });
    const page = await loginThroughBank(new Agent(), req, { username: 'mikomo_10', skipChooser: true });
    const tokens = await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    assert.equal(tokens.claims()!.email, 'PhilipHLovett@mikomotest.com');
  } finally {
    await good.close();
  }
});

for (const claimsParameter of [true, false]) {
  test(`an OIDC bank ${claimsParameter ? 'with' : 'without'} the claims parameter: claims come from its ${claimsParameter ? 'signed ID token, userinfo is not called' : 'userinfo endpoint'}`, async () => {
    const paths: string[] = [];
    const bank = await startTamperingBank(net, 'none', { claimsParameter, onRequest: (path) => paths.push(path) });
    try {
      const app = await createTestApp(net);
      const req = await authorizationRequest(app, { identity_provider_id: bank.bank.slug, scope: 'openid email profile' });
      const page = await loginThroughBank(new Agent(), req, { username: 'mikomo_10', skipChooser: true });
      const tokens = await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
      const claims = tokens.claims()!;
      assert.equal(claims.email, 'PhilipHLovett@mikomotest.com');
      assert.equal(claims.given_name, 'Philip');
      assert.match(String(claims.birthdate), /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(paths.some((p) => p.endsWith('/token')), 'the token endpoint was called');
      assert.equal(paths.some((p) => p.endsWith('/userinfo')), !claimsParameter, `userinfo calls: ${paths.join(' ')}`);
    } finally {
      await bank.close();
    }
  });
}

test('before a valid redirect_uri is known: a clear error page, no redirect', async () => {
  const app = await createTestApp(net);
  const agent = new Agent();
  const bad = new URL((await authorizationRequest(app)).url);
  bad.searchParams.set('redirect_uri', 'https://attacker.example/cb');
  let page = await agent.go(bad.href);
  assert.equal(page.status, 400);
  assert.match(page.body, /Sign-in could not continue/);
  assert.match(page.body, /redirect_uri/);
  assert.doesNotMatch(page.body, /at \w+ \(|node_modules/);
  bad.searchParams.set('client_id', 'unknown-client');
  page = await agent.go(bad.href);
  assert.equal(page.status, 400);
  assert.match(page.body, /invalid_client/);
  page = await agent.go(`${net.url}/interaction/does-not-exist`);
  assert.equal(page.status, 400);
  assert.match(page.body, /session_not_found/);
  page = await agent.go(`${net.url}/banks/callback?state=nope&code=x`);
  assert.equal(page.status, 400);
  assert.match(page.body, /expired or was already used/);
});

test('a bank callback replayed after use is refused with an error page', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
  const agent = new Agent();
  const login = await agent.go(req.url, {}, APP_REDIRECT);
  const consent = await submit(agent, login, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  const callbackHop = consent.hops.find((h) => h.url.includes('/banks/callback'));
  assert.ok(callbackHop);
  const replay = await new Agent().go(callbackHop.url);
  assert.equal(replay.status, 400);
});

test('CSRF: a form post without the token is refused', async () => {
  const app = await createTestApp(net);
  const agent = new Agent();
  const chooser = await agent.go((await authorizationRequest(app)).url, {}, APP_REDIRECT);
  const action = /action="(\/interaction\/[^"]+\/bank)"/.exec(chooser.body)![1]!;
  const res = await agent.go(new URL(action, net.url).href, { form: { bank: 'mikomo', csrf: 'forged' } });
  assert.equal(res.status, 403);
});

test('an oversized form is refused with 413 and the login can still go on', async () => {
  const app = await createTestApp(net);
  const agent = new Agent();
  const req = await authorizationRequest(app);
  const chooser = await agent.go(req.url, {}, APP_REDIRECT);
  const form = formOf(chooser.body, '/bank');
  const huge = await agent.go(new URL(form.action, chooser.url).href, { form: { ...form.fields, bank: 'mikomo', filler: 'x'.repeat(70 * 1024) } }, APP_REDIRECT);
  assert.equal(huge.status, 413);
  assert.doesNotMatch(huge.body, /at .*\.ts:\d+/, 'no stack trace');
  const page = await loginThroughBank(agent, { ...req, url: chooser.url }, { username: 'mikomo_10', skipChooser: false });
  assert.ok(callbackParams(page).get('code'));
});
