/**
 * Console applications through real HTTP against the real server: the seed's
 * "+ Add Sandbox application" flow (step 1, review, "Create application"), a
 * real login through the network with the record's "Client ID" and "Client
 * secret", the secret shown once, "Rotate secret", edit, delete, validation,
 * escaping, ownership (404 exactly like an unknown id), CSRF, and the JSON
 * management API under /console/api with its API tokens.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { exportJWK, generateKeyPair } from 'jose';
import { Agent, decodeEntities, formOf, type PageResult } from '../helpers/agent.js';
import { authorizationRequest, openTestStore, startTestNetwork, submit, type TestApp, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { apiToken, signUpAndSignIn, type SignedInConsole } from '../helpers/console.js';
import { ConsoleRepository } from '../../src/console/repository.js';
import { PRIVATE_JWK_MESSAGE } from '../../src/console/applications.js';
import { escapeHtml } from '../../src/http/html.js';
import { verifySecret } from '../../src/store/store.js';

let handle: TestStoreHandle;
let net: TestNetwork;
let repo: ConsoleRepository;

before(async () => {
  handle = await openTestStore();
  net = await startTestNetwork(handle.store);
  repo = new ConsoleRepository(handle.store.db);
});
after(async () => {
  await net?.close();
  await handle?.cleanup();
});

const MIKOMO_EMAIL = 'PhilipHLovett@mikomotest.com';
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/** Exactly the seed guide's values, on this test network. */
const seedValues = () => ({
  token_endpoint_auth_method: 'client_secret_basic',
  name: 'Auth0 social connection',
  logo_uri: 'https://example.com/logo.png',
  origin_url: `${net.url}/oidc-proxy/proxy/auth0/auth`,
  redirect_uris: `${net.url}/oidc-proxy/proxy/auth0/callback`,
});

// ---------------------------------------------------------------- helpers

async function post(agent: Agent, page: PageResult, action: string, fields: Record<string, string>): Promise<PageResult> {
  const form = formOf(page.body, action);
  return agent.go(new URL(form.action, page.url).href, { form: { ...form.fields, ...fields } });
}

const csrfOf = (page: PageResult) => formOf(page.body, '/console/logout').fields.csrf!;
const clientIdOn = (page: PageResult) => decodeEntities(/<code id="client-id">([^<]+)<\/code>/.exec(page.body)?.[1] ?? '');
const secretOn = (page: PageResult) => {
  const m = /<code id="client-secret">([^<]+)<\/code>/.exec(page.body);
  return m ? decodeEntities(m[1]!) : undefined;
};
const path = (page: PageResult) => new URL(page.url).pathname;
const titleOf = (page: PageResult) => decodeEntities(/<title>([^<]*)<\/title>/.exec(page.body)?.[1] ?? '');

/** Every <label for="x"> names an element with id="x". */
function assertLabelsBound(page: PageResult) {
  const fors = [...page.body.matchAll(/<label for="([^"]+)">/g)].map((m) => m[1]!);
  assert.ok(fors.length > 0);
  for (const id of fors) assert.match(page.body, new RegExp(`<(input|textarea|select)\\b[^>]*\\bid="${id}"`), `label for="${id}" has no control`);
}

/** "+ Add Sandbox application" → step 1 → "Next step" → review → "Create application" → the record page. */
async function createThroughPages(agent: Agent, values: Record<string, string>): Promise<{ page: PageResult; clientId: string; secret: string | undefined }> {
  const list = await agent.go(`${net.url}/console/applications`);
  const step1 = await agent.go(new URL('/console/applications/new', list.url).href);
  assert.equal(step1.status, 200);
  const review = await post(agent, step1, '/console/applications/new', values);
  assert.equal(review.status, 200, `expected the review page, got ${review.status}\n${review.body.slice(0, 3000)}`);
  assert.match(review.body, /<button class="primary" type="submit">Create application<\/button>/);
  const page = await post(agent, review, '/console/applications', {});
  assert.equal(page.status, 200);
  assert.match(path(page), /^\/console\/applications\/tl_[A-Za-z0-9_-]+$/);
  return { page, clientId: clientIdOn(page), secret: secretOn(page) };
}

async function appWithSecret(clientId: string, secret: string): Promise<TestApp> {
  const config = await client.discovery(new URL(net.issuer), clientId, secret, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests], timeout: 5 });
  return { clientId, clientSecret: secret, config };
}

/** A real login through the network (chooser → Mikomo Bank → consent) up to the app's registered redirect URL. */
async function codeFor(app: TestApp, redirectUri: string) {
  const req = await authorizationRequest(app, { redirect_uri: redirectUri });
  const agent = new Agent();
  let page = await agent.go(req.url, {}, redirectUri);
  assert.match(page.body, /<h1>Choose your bank<\/h1>/, `expected the chooser, got ${page.status} ${page.url}\n${page.body.slice(0, 600)}`);
  page = await submit(agent, page, '/bank', { bank: 'mikomo' }, redirectUri);
  assert.match(page.body, /<label for="username">Username<\/label>/, `expected the bank's login page, got ${page.status} ${page.url}`);
  page = await submit(agent, page, '/login', { username: 'mikomo_10', password: 'mikomo_10' }, redirectUri);
  if (!page.url.startsWith(redirectUri)) {
    assert.match(page.body, /name="decision" value="allow"/, `expected the consent page, got ${page.status} ${page.url}\n${page.body.slice(0, 600)}`);
    page = await submit(agent, page, '/consent', { decision: 'allow' }, redirectUri);
  }
  assert.ok(page.url.startsWith(redirectUri), `expected a redirect to ${redirectUri}, got ${page.url}`);
  const callback = new URL(page.url);
  assert.ok(callback.searchParams.get('code'), `no code in ${page.url}`);
  return { callback, req };
}

async function loginClaims(app: TestApp, redirectUri: string) {
  const { callback, req } = await codeFor(app, redirectUri);
  const tokens = await client.authorizationCodeGrant(app.config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  return tokens.claims()!;
}

/** The token endpoint with HTTP Basic client authentication, by hand (to see the error the network answers). */
async function tokenRequest(clientId: string, secret: string, fields: Record<string, string>) {
  const res = await fetch(`${net.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface ApiResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function api(method: string, p: string, o: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResult> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.body !== undefined) {
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${net.url}/console/api${p}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Nothing the API returns may carry a secret hash. */
function assertNoHash(r: ApiResult) {
  assert.doesNotMatch(r.text, /sha256:|secret_hash|secretHash/);
}

async function publicAndPrivateJwk() {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  return { pub, priv, privateKey };
}

// ---------------------------------------------------------------- the seed's flow

let seed: { owner: SignedInConsole; clientId: string; secret: string; redirectUri: string };

test('the seed flow: "+ Add Sandbox application", "Next step", "Create application", then a real login with the record\'s Client ID and Client secret', async () => {
  const owner = await signUpAndSignIn(net, new Agent(), 'seed-owner@example.com');
  const { agent } = owner;
  const values = seedValues();

  // "Applications" in the left panel; "+ Add Sandbox application" in the top right.
  const list = await agent.go(`${net.url}/console/applications`);
  assert.equal(list.status, 200);
  assert.equal(titleOf(list), 'Applications · TrustLane Console');
  assert.match(list.body, /<h1>Applications<\/h1>/);
  assert.match(list.body, /<a href="\/console\/applications" aria-current="page">Applications<\/a>/);
  assert.match(list.body, /<div class="page-head"><h1>Applications<\/h1><a class="button primary" href="\/console\/applications\/new">\+ Add Sandbox application<\/a><\/div>/);
  assert.match(list.body, /You have no applications yet/);

  // Step 1: the form, labels bound to their inputs.
  const step1 = await agent.go(`${net.url}/console/applications/new`);
  assert.equal(step1.status, 200);
  assert.match(titleOf(step1), /^Add Sandbox application \(step 1 of 2\) · /);
  assert.match(step1.body, /<fieldset><legend>Auth method<\/legend>/);
  for (const m of AUTH_METHODS) {
    assert.match(step1.body, new RegExp(`<input type="radio" id="auth-${m}" name="token_endpoint_auth_method" value="${m}"[^>]*><label for="auth-${m}">${m}</label>`));
  }
  assert.match(step1.body, /value="client_secret_basic" checked/, 'client_secret_basic is the default');
  for (const [id, label] of [['app-name', 'Application name'], ['app-logo', 'Application logo'], ['app-origin', 'Origin URL'], ['app-redirects', 'Redirect URL'], ['app-jwks-uri', 'JWK Set URI'], ['app-jwks', 'JWK Set Content']]) {
    assert.match(step1.body, new RegExp(`<label for="${id}">${label}</label>`));
  }
  assert.match(step1.body, /<textarea id="app-redirects" name="redirect_uris"/);
  assert.match(step1.body, /only for private_key_jwt/i);
  assert.match(step1.body, /<button class="primary" type="submit">Next step<\/button>/);
  assert.match(step1.body, /<input type="hidden" name="csrf" value="[^"]+">/);
  assertLabelsBound(step1);

  // "Next step": the review lists every value, with hidden fields carrying them.
  const review = await post(agent, step1, '/console/applications/new', values);
  assert.equal(review.status, 200);
  assert.match(titleOf(review), /^Review application \(step 2 of 2\) · /);
  for (const v of Object.values(values)) assert.ok(review.body.includes(escapeHtml(v)), `review shows ${v}`);
  const hidden = formOf(review.body, '/console/applications').fields;
  for (const [k, v] of Object.entries(values)) assert.equal(hidden[k], v, `hidden field ${k}`);
  assert.match(review.body, /<button type="submit" formaction="\/console\/applications\/new" name="back" value="1">Back<\/button>/);

  // "Back" re-renders step 1 with the values.
  const back = await agent.go(`${net.url}/console/applications/new`, { form: { ...hidden, back: '1' } });
  assert.equal(back.status, 200);
  assert.match(back.body, /<button class="primary" type="submit">Next step<\/button>/);
  assert.match(back.body, /id="app-name" name="name"[^>]*value="Auth0 social connection"/);
  assert.ok(back.body.includes(`>${escapeHtml(values.redirect_uris)}</textarea>`));
  assert.match(back.body, /value="client_secret_basic" checked/);

  // "Next step" again, then "Create application": Post/Redirect/Get to the record.
  const review2 = await post(agent, back, '/console/applications/new', values);
  const record = await post(agent, review2, '/console/applications', {});
  assert.equal(record.hops[0]!.status, 303);
  assert.match(record.hops[0]!.location!, /^\/console\/applications\/tl_[A-Za-z0-9_-]+$/, 'the secret never travels in the URL');
  assert.equal(record.status, 200);
  assert.equal(titleOf(record), 'Auth0 social connection · TrustLane Console');
  assert.match(record.body, /<dt>Client ID<\/dt>/);
  assert.match(record.body, /<dt>Client secret<\/dt>/);
  assert.match(record.body, /<button type="button" data-copy="client-id">Copy<\/button>/);
  assert.match(record.body, /<button type="button" data-copy="client-secret">Copy<\/button>/);
  assert.match(record.body, /shown only once/);
  assert.match(record.body, /<p class="notice" role="status">Application &quot;Auth0 social connection&quot; created\.<\/p>/, 'the notice follows the redirect');
  assert.match(record.body, />Edit<\/a>/);
  assert.match(record.body, />Delete<\/a>/);
  for (const v of Object.values(values)) assert.ok(record.body.includes(escapeHtml(v)), `record shows ${v}`);
  const clientId = clientIdOn(record);
  const secret = secretOn(record);
  assert.ok(secret && secret.length >= 40, 'the full secret is on the page');
  assert.ok(!record.hops.some((h) => h.url.includes(secret) || h.location?.includes(secret)));

  // What the store holds: a sandbox app owned by the account, the secret hashed.
  const stored = await net.store.getApplication(clientId);
  assert.ok(stored);
  assert.equal(stored.ownerId, owner.accountId);
  assert.equal(stored.kind, 'sandbox');
  assert.equal(stored.name, values.name);
  assert.equal(stored.authMethod, 'client_secret_basic');
  assert.equal(stored.logoUri, values.logo_uri);
  assert.equal(stored.originUrl, values.origin_url);
  assert.deepEqual(stored.redirectUris, [values.redirect_uris]);
  assert.ok(verifySecret(secret, stored.secretHash));
  assert.ok(!stored.secretHash!.includes(secret));

  // The list shows its logo, name (a link), kind and client_id.
  const list2 = await agent.go(`${net.url}/console/applications`);
  assert.ok(list2.body.includes(`<td class="logo"><img src="https://example.com/logo.png" alt=""`));
  assert.ok(list2.body.includes(`<a href="/console/applications/${clientId}">Auth0 social connection</a>`));
  assert.match(list2.body, /<span class="badge sandbox">Sandbox<\/span>/);
  assert.ok(list2.body.includes(`<code>${clientId}</code>`));
  assert.ok(!list2.body.includes(secret));

  // A real login through the network with the record's credentials.
  const app = await appWithSecret(clientId, secret);
  const claims = await loginClaims(app, values.redirect_uris);
  assert.equal(claims.iss, net.issuer);
  assert.equal(claims.aud, clientId);
  assert.equal(claims.email, MIKOMO_EMAIL);

  const events = (await repo.auditLog(owner.accountId)).map((e) => e.event);
  assert.ok(events.includes('application_created'));
  seed = { owner, clientId, secret, redirectUri: values.redirect_uris };
});

test('the client secret is shown once: a reload hides it and offers "Rotate secret"', async () => {
  const { agent } = seed.owner;
  const again = await agent.go(`${net.url}/console/applications/${seed.clientId}`);
  assert.equal(again.status, 200);
  assert.equal(secretOn(again), undefined);
  assert.ok(!again.body.includes(seed.secret));
  assert.match(again.body, /Hidden: the client secret is shown only once/);
  assert.ok(again.body.includes(`<a class="button" href="/console/applications/${seed.clientId}/rotate">Rotate secret</a>`));
  assert.equal(clientIdOn(again), seed.clientId, 'the Client ID stays visible');
  const session = await repo.sessionByToken(agent.cookies(new URL(net.url).host).find((c) => c.name === 'tl_console')!.value);
  assert.ok(!JSON.stringify(session?.data ?? {}).includes(seed.secret), 'the secret does not linger in the session');
});

test('"Rotate secret": a confirmation page, the new secret once, the old one refused with invalid_client', async () => {
  const { agent, accountId } = seed.owner;
  const oldApp = await appWithSecret(seed.clientId, seed.secret);
  const { callback, req } = await codeFor(oldApp, seed.redirectUri);

  const confirm = await agent.go(`${net.url}/console/applications/${seed.clientId}/rotate`);
  assert.equal(confirm.status, 200);
  assert.equal(titleOf(confirm), 'Rotate secret of Auth0 social connection · TrustLane Console');
  assert.match(confirm.body, /The old secret stops working immediately/);
  assert.match(confirm.body, /<button class="primary" type="submit">Rotate secret<\/button>/);

  const rotated = await post(agent, confirm, `/console/applications/${seed.clientId}/rotate`, {});
  assert.equal(rotated.hops[0]!.status, 303);
  assert.equal(path(rotated), `/console/applications/${seed.clientId}`);
  const fresh = secretOn(rotated);
  assert.ok(fresh && fresh !== seed.secret);
  assert.match(rotated.body, /Secret rotated/);
  assert.equal(secretOn(await agent.go(rotated.url)), undefined, 'shown once');

  // The old secret is refused at the token endpoint; the new one redeems the same code.
  const refused = await tokenRequest(seed.clientId, seed.secret, {
    grant_type: 'authorization_code', code: callback.searchParams.get('code')!, code_verifier: req.verifier, redirect_uri: seed.redirectUri,
  });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error, 'invalid_client');
  const newApp = await appWithSecret(seed.clientId, fresh);
  const tokens = await client.authorizationCodeGrant(newApp.config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  assert.equal(tokens.claims()!.email, MIKOMO_EMAIL);

  assert.ok((await repo.auditLog(accountId)).some((e) => e.event === 'secret_rotated' && e.detail.client_id === seed.clientId));
  seed.secret = fresh;
});

test('Edit: the same fields and validation, "Save changes", applied to the network at once', async () => {
  const { agent, accountId } = seed.owner;
  const edit = await agent.go(`${net.url}/console/applications/${seed.clientId}/edit`);
  assert.equal(edit.status, 200);
  assert.equal(titleOf(edit), 'Edit Auth0 social connection · TrustLane Console');
  assert.match(edit.body, /<button class="primary" type="submit">Save changes<\/button>/);
  assert.match(edit.body, /id="app-name" name="name"[^>]*value="Auth0 social connection"/);
  assert.match(edit.body, /value="client_secret_basic" checked/);
  assertLabelsBound(edit);

  // Errors keep what was typed.
  const second = `${net.url}/oidc-proxy/proxy/auth0/callback2`;
  const bad = await post(agent, edit, `/console/applications/${seed.clientId}/edit`, { name: '', redirect_uris: `${seed.redirectUri}\nhttp://example.com/cb` });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /Application name is required/);
  assert.match(bad.body, /Redirect URL &quot;http:\/\/example.com\/cb&quot; must use https/);
  assert.ok(bad.body.includes(`>${escapeHtml(`${seed.redirectUri}\nhttp://example.com/cb`)}</textarea>`));
  assert.equal((await net.store.getApplication(seed.clientId))!.name, 'Auth0 social connection', 'nothing saved');

  const saved = await post(agent, bad, `/console/applications/${seed.clientId}/edit`, { name: 'Auth0 connection (renamed)', redirect_uris: `${seed.redirectUri}\r\n${second}` });
  assert.equal(saved.hops[0]!.status, 303);
  assert.equal(path(saved), `/console/applications/${seed.clientId}`);
  assert.match(saved.body, /Changes saved\./);
  assert.equal(titleOf(saved), 'Auth0 connection (renamed) · TrustLane Console');
  assert.equal(secretOn(saved), undefined, 'an edit does not reveal or change the secret');
  const stored = (await net.store.getApplication(seed.clientId))!;
  assert.equal(stored.name, 'Auth0 connection (renamed)');
  assert.deepEqual(stored.redirectUris, [seed.redirectUri, second]);
  assert.ok(verifySecret(seed.secret, stored.secretHash));

  // The network accepts the new redirect URL at once.
  const app = await appWithSecret(seed.clientId, seed.secret);
  const claims = await loginClaims(app, second);
  assert.equal(claims.email, MIKOMO_EMAIL);
  assert.ok((await repo.auditLog(accountId)).some((e) => e.event === 'application_updated'));
});

test('Delete: a confirmation page, then the application stops working at once', async () => {
  const { agent, accountId } = seed.owner;
  const confirm = await agent.go(`${net.url}/console/applications/${seed.clientId}/delete`);
  assert.equal(confirm.status, 200);
  assert.equal(titleOf(confirm), 'Delete Auth0 connection (renamed) · TrustLane Console');
  assert.match(confirm.body, /stops working at once/);
  assert.match(confirm.body, /<button class="danger" type="submit">Delete application<\/button>/);

  const list = await post(agent, confirm, `/console/applications/${seed.clientId}/delete`, {});
  assert.equal(list.hops[0]!.status, 303);
  assert.equal(path(list), '/console/applications');
  assert.match(list.body, /Application &quot;Auth0 connection \(renamed\)&quot; deleted\./);
  assert.ok(!list.body.includes(seed.clientId));
  assert.equal(await net.store.getApplication(seed.clientId), undefined);
  assert.equal((await agent.go(`${net.url}/console/applications/${seed.clientId}`)).status, 404);

  const refused = await tokenRequest(seed.clientId, seed.secret, { grant_type: 'authorization_code', code: 'x', redirect_uri: seed.redirectUri });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error, 'invalid_client');
  assert.ok((await repo.auditLog(accountId)).some((e) => e.event === 'application_deleted' && e.detail.client_id === seed.clientId));
});

// ---------------------------------------------------------------- validation and escaping

test('validation: each error names its field, and every typed value is kept', async () => {
  const { agent, accountId } = await signUpAndSignIn(net);
  const { pub, priv } = await publicAndPrivateJwk();
  const base = seedValues();
  const cases: { fields: Record<string, string>; message: RegExp | string; field: string }[] = [
    { fields: { name: '' }, message: /Application name is required/, field: 'name' },
    { fields: { name: 'x'.repeat(101) }, message: /Application name must be at most 100 characters/, field: 'name' },
    { fields: { logo_uri: 'javascript:alert(1)' }, message: /Application logo must be an https URL: javascript: URLs are not allowed\./, field: 'logo_uri' },
    { fields: { logo_uri: 'data:image/png;base64,AAAA' }, message: /Application logo must be an https URL: data: URLs are not allowed\./, field: 'logo_uri' },
    { fields: { logo_uri: 'http://example.com/logo.png' }, message: /Application logo must use https \(http is allowed only for localhost and 127.0.0.1\)/, field: 'logo_uri' },
    { fields: { origin_url: 'not a url' }, message: /Origin URL is not a valid URL/, field: 'origin_url' },
    { fields: { origin_url: 'ftp://example.com/' }, message: /Origin URL must be an https URL: ftp: URLs are not allowed/, field: 'origin_url' },
    { fields: { redirect_uris: '' }, message: /Redirect URL is required/, field: 'redirect_uris' },
    { fields: { redirect_uris: 'http://example.com/cb' }, message: /Redirect URL must use https/, field: 'redirect_uris' },
    { fields: { redirect_uris: 'https://example.com/cb#frag' }, message: /Redirect URL must not contain a fragment/, field: 'redirect_uris' },
    { fields: { token_endpoint_auth_method: 'none' }, message: /Auth method must be one of client_secret_basic, client_secret_post or private_key_jwt\./, field: 'token_endpoint_auth_method' },
    { fields: { token_endpoint_auth_method: 'private_key_jwt' }, message: /private_key_jwt needs your public keys: give either a JWK Set URI or a JWK Set Content\./, field: 'jwks_uri' },
    { fields: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://example.com/jwks', jwks: JSON.stringify({ keys: [pub] }) }, message: /not both/, field: 'jwks_uri' },
    { fields: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://example.com/jwks' }, message: /JWK Set URI must use https/, field: 'jwks_uri' },
    { fields: { token_endpoint_auth_method: 'private_key_jwt', jwks: '{"keys": [' }, message: /JWK Set Content is not valid JSON/, field: 'jwks' },
    { fields: { token_endpoint_auth_method: 'private_key_jwt', jwks: JSON.stringify({ keys: [priv] }, null, 2) }, message: PRIVATE_JWK_MESSAGE, field: 'jwks' },
    { fields: { token_endpoint_auth_method: 'private_key_jwt', jwks: JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }) }, message: PRIVATE_JWK_MESSAGE, field: 'jwks' },
    { fields: { jwks: JSON.stringify({ keys: [pub] }) }, message: /JWK Set Content is used only with private_key_jwt/, field: 'jwks' },
  ];
  const step1 = await agent.go(`${net.url}/console/applications/new`);
  for (const c of cases) {
    const values = { ...base, ...c.fields };
    const page = await post(agent, step1, '/console/applications/new', values);
    assert.equal(page.status, 400, `${JSON.stringify(c.fields)} should be refused`);
    assert.match(page.body, /<div class="card error" role="alert">/);
    const expected = typeof c.message === 'string' ? escapeHtml(c.message) : c.message;
    if (typeof expected === 'string') assert.ok(page.body.includes(`<p class="field-error" id="${c.field}-error">${expected}`), `${c.field}: ${c.message}`);
    else assert.match(page.body, new RegExp(`<p class="field-error" id="${c.field}-error">[^<]*${expected.source}`), `${c.field}: ${c.message}`);
    assert.match(page.body, /aria-invalid="true"/);
    // Nothing typed is lost.
    for (const [k, v] of Object.entries(values)) {
      if (k === 'token_endpoint_auth_method') {
        if (['client_secret_basic', 'client_secret_post', 'private_key_jwt'].includes(v)) assert.match(page.body, new RegExp(`value="${v}" checked`));
      } else if (k === 'redirect_uris' || k === 'jwks') assert.ok(page.body.includes(`name="${k}"`) && page.body.includes(`>${escapeHtml(v)}</textarea>`), `${k} kept`);
      else assert.ok(page.body.includes(`name="${k}"`) && page.body.includes(` value="${escapeHtml(v)}"`), `${k} kept: ${v}`);
    }
    assert.doesNotMatch(page.body, /src="(javascript|data):/, 'a refused logo is never used as an image');
    assert.match(page.body, /<button class="primary" type="submit">Next step<\/button>/);
  }

  // The create step validates again: hidden fields are never trusted.
  const tampered = await agent.go(`${net.url}/console/applications`, { form: { csrf: csrfOf(step1), ...base, logo_uri: 'javascript:alert(1)' } });
  assert.equal(tampered.status, 400);
  assert.match(tampered.body, /Application logo must be an https URL: javascript: URLs are not allowed\./);
  assert.equal((await net.store.listApplications(accountId)).length, 0, 'nothing was created');

  // Two errors at once are both reported.
  const both = await post(agent, step1, '/console/applications/new', { ...base, name: '', redirect_uris: 'https://ok.example.com/cb\nnope' });
  assert.match(both.body, /Application name is required/);
  assert.match(both.body, /Redirect URL &quot;nope&quot; is not a valid URL/);

  // A valid private_key_jwt application with public keys only: no client secret.
  const { page } = await createThroughPages(agent, { ...base, name: 'Key app', token_endpoint_auth_method: 'private_key_jwt', jwks: JSON.stringify({ keys: [pub] }) });
  assert.equal(secretOn(page), undefined);
  assert.match(page.body, /None: this application authenticates with <code>private_key_jwt<\/code>/);
  assert.ok(!page.body.includes('/rotate">Rotate secret'));
  const stored = await net.store.getApplication(clientIdOn(page));
  assert.equal(stored!.secretHash, null);
  assert.deepEqual(stored!.jwks, { keys: [pub] });
  const rotate = await agent.go(`${net.url}/console/applications/${stored!.clientId}/rotate`);
  assert.match(rotate.body, /it has no client secret to rotate/);
  assert.doesNotMatch(rotate.body, /<button class="primary" type="submit">Rotate secret<\/button>/);
});

test('an application named <script>alert(1)</script> is escaped everywhere, never raw', async () => {
  const { agent } = await signUpAndSignIn(net);
  const payload = '<script>alert(1)</script>';
  const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;';
  const step1 = await agent.go(`${net.url}/console/applications/new`);
  const review = await post(agent, step1, '/console/applications/new', { ...seedValues(), name: payload });
  assert.ok(review.body.includes(escaped));
  assert.ok(!review.body.includes(payload));
  assert.equal(formOf(review.body, '/console/applications').fields.name, payload, 'the hidden field carries it, escaped in the attribute');
  const record = await post(agent, review, '/console/applications', {});
  const clientId = clientIdOn(record);
  const pages = [
    record,
    await agent.go(`${net.url}/console/applications`),
    await agent.go(`${net.url}/console/applications/${clientId}`),
    await agent.go(`${net.url}/console/applications/${clientId}/edit`),
    await agent.go(`${net.url}/console/applications/${clientId}/rotate`),
    await agent.go(`${net.url}/console/applications/${clientId}/delete`),
    await agent.go(`${net.url}/console/audit`),
  ];
  for (const p of pages) {
    assert.equal(p.status, 200, p.url);
    assert.ok(p.body.includes(escaped), `${p.url} shows the name escaped`);
    assert.ok(!p.body.includes(payload), `${p.url} never shows it raw`);
  }
  assert.match(titleOf(record), /^<script>alert\(1\)<\/script> · /, 'the title holds the escaped text');
});

// ---------------------------------------------------------------- ownership

test("another account's application answers 404 exactly like an unknown id: by URL, by form post and by API", async () => {
  const owner = await signUpAndSignIn(net);
  const other = await signUpAndSignIn(net);
  const { application, clientSecret } = await net.store.createApplication({ ownerId: owner.accountId, name: 'Owner app', redirectUris: ['https://owner.example.com/cb'], authMethod: 'client_secret_basic', kind: 'sandbox' });
  const foreign = application.clientId;
  const unknown = 'tl_AAAAAAAAAAAAAAAAAAAAAAAA';
  const list = await other.agent.go(`${net.url}/console/applications`);
  assert.ok(!list.body.includes(foreign), "the other account's list does not show it");
  const csrf = csrfOf(list);

  for (const suffix of ['', '/edit', '/rotate', '/delete']) {
    const a = await other.agent.go(`${net.url}/console/applications/${foreign}${suffix}`);
    const b = await other.agent.go(`${net.url}/console/applications/${unknown}${suffix}`);
    assert.equal(a.status, 404, `GET ${suffix}`);
    assert.equal(b.status, 404);
    assert.equal(a.body, b.body, `GET ${suffix}: same page for a foreign and an unknown id`);
    assert.match(a.body, /<h1>Application not found<\/h1>/);
    assert.ok(!a.body.includes('Owner app'));
  }
  const forms: Record<string, Record<string, string>> = { '/edit': { ...seedValues(), name: 'Hijacked' }, '/rotate': {}, '/delete': {} };
  for (const [suffix, fields] of Object.entries(forms)) {
    const a = await other.agent.go(`${net.url}/console/applications/${foreign}${suffix}`, { form: { csrf, ...fields } });
    const b = await other.agent.go(`${net.url}/console/applications/${unknown}${suffix}`, { form: { csrf, ...fields } });
    assert.equal(a.status, 404, `POST ${suffix}`);
    assert.equal(b.status, 404);
    assert.equal(a.body, b.body, `POST ${suffix}: same page for a foreign and an unknown id`);
  }

  const token = await apiToken(net, other.accountId);
  const calls: [string, string, unknown?][] = [['GET', ''], ['PATCH', '', { name: 'Hijacked' }], ['DELETE', ''], ['POST', '/rotate-secret']];
  for (const [method, suffix, body] of calls) {
    const a = await api(method, `/applications/${foreign}${suffix}`, { token, body });
    const b = await api(method, `/applications/${unknown}${suffix}`, { token, body });
    assert.equal(a.status, 404, `${method} ${suffix}`);
    assert.equal(b.status, 404);
    assert.deepEqual(a.json, b.json, `${method} ${suffix}: same answer for a foreign and an unknown id`);
    assert.equal(a.json.error, 'not_found');
  }

  // Untouched.
  const after = (await net.store.getApplication(foreign))!;
  assert.equal(after.name, 'Owner app');
  assert.ok(verifySecret(clientSecret!, after.secretHash));
  assert.equal((await owner.agent.go(`${net.url}/console/applications/${foreign}`)).status, 200, 'the owner still sees it');
  assert.equal((await api('GET', `/applications/${foreign}`, { token: await apiToken(net, owner.accountId) })).status, 200);
  assert.ok(!(await repo.auditLog(other.accountId)).some((e) => String(e.detail.client_id) === foreign));
});

// ---------------------------------------------------------------- CSRF and sign-in

test('CSRF: a console form without a valid csrf field is refused (403)', async () => {
  const { agent, accountId } = await signUpAndSignIn(net);
  const intruder = await signUpAndSignIn(net);
  const { application, clientSecret } = await net.store.createApplication({ ownerId: accountId, name: 'Mine', redirectUris: ['https://mine.example.com/cb'], authMethod: 'client_secret_basic', kind: 'sandbox' });
  const id = application.clientId;
  const foreignToken = csrfOf(await intruder.agent.go(`${net.url}/console/applications`));
  for (const csrf of [undefined, '', 'forged', foreignToken]) {
    const extra: Record<string, string> = csrf === undefined ? {} : { csrf };
    for (const [url, fields] of [
      ['/console/applications/new', seedValues()],
      ['/console/applications', seedValues()],
      [`/console/applications/${id}/edit`, { ...seedValues(), name: 'Changed' }],
      [`/console/applications/${id}/rotate`, {}],
      [`/console/applications/${id}/delete`, {}],
    ] as [string, Record<string, string>][]) {
      const page = await agent.go(`${net.url}${url}`, { method: 'POST', form: { ...fields, ...extra } });
      assert.equal(page.status, 403, `${url} with csrf=${csrf}`);
      assert.match(page.body, /This form has expired/);
    }
  }
  const stored = (await net.store.getApplication(id))!;
  assert.equal(stored.name, 'Mine');
  assert.ok(verifySecret(clientSecret!, stored.secretHash));
  assert.equal((await net.store.listApplications(accountId)).length, 1);
});

test('signed-out visitors are sent to sign in', async () => {
  const agent = new Agent();
  for (const p of ['/console/applications', '/console/applications/new', '/console/applications/tl_x', '/console/applications/tl_x/edit']) {
    const page = await agent.go(`${net.url}${p}`);
    assert.equal(page.hops[0]!.status, 302, p);
    assert.equal(path(page), '/console/login');
  }
});

// ---------------------------------------------------------------- the management API

test('API: 401 without a token, with an unknown or revoked token, and with a console cookie only', async () => {
  const { agent, accountId } = await signUpAndSignIn(net);
  const none = await api('GET', '/applications');
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
  assert.equal(none.json.error, 'invalid_token');

  const wrong = await api('GET', '/applications', { token: 'tlk_not-a-real-token' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  assert.equal(wrong.json.error, 'invalid_token');

  const basic = await api('GET', '/applications', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assert.equal(basic.status, 401);

  // The console's session cookie does not authorise the API (so no CSRF is possible).
  const res = await agent.request(`${net.url}/console/api/applications`);
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_token');
  const cookiePost = await agent.request(`${net.url}/console/api/applications`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  assert.equal(cookiePost.status, 401);
  await cookiePost.arrayBuffer();

  const token = await apiToken(net, accountId);
  assert.equal((await api('GET', '/applications', { token })).status, 200);
  const [t] = await repo.listApiTokens(accountId);
  assert.ok(await repo.revokeApiToken(accountId, t!.id));
  const revoked = await api('GET', '/applications', { token });
  assert.equal(revoked.status, 401);
  assert.equal(revoked.json.error, 'invalid_token');
  assert.equal((await api('POST', '/applications', { token, body: seedValues() })).status, 401);
  assert.equal((await net.store.listApplications(accountId)).length, 0);
});

test('API: create, list, get, patch, rotate-secret and delete; validation; never a secret hash', async () => {
  const { accountId } = await signUpAndSignIn(net);
  const token = await apiToken(net, accountId);
  const s = seedValues();
  const body = { name: s.name, logo_uri: s.logo_uri, origin_url: s.origin_url, redirect_uris: [s.redirect_uris], token_endpoint_auth_method: 'client_secret_basic' };

  const created = await api('POST', '/applications', { token, body });
  assert.equal(created.status, 201, created.text);
  assertNoHash(created);
  assert.equal(created.headers.get('set-cookie'), null, 'the API sets no cookies');
  assert.equal(created.headers.get('cache-control'), 'no-store');
  const app = created.json;
  assert.match(app.client_id, /^tl_/);
  assert.equal(created.headers.get('location'), `/console/api/applications/${app.client_id}`);
  assert.equal(typeof app.client_secret, 'string');
  assert.deepEqual(
    { name: app.name, logo_uri: app.logo_uri, origin_url: app.origin_url, redirect_uris: app.redirect_uris, token_endpoint_auth_method: app.token_endpoint_auth_method, kind: app.kind, jwks: app.jwks, jwks_uri: app.jwks_uri },
    { ...body, kind: 'sandbox', jwks: null, jwks_uri: null },
  );
  const stored = (await net.store.getApplication(app.client_id))!;
  assert.equal(stored.ownerId, accountId);
  assert.ok(verifySecret(app.client_secret, stored.secretHash));

  // The API's credentials work for a real login.
  const claims = await loginClaims(await appWithSecret(app.client_id, app.client_secret), s.redirect_uris);
  assert.equal(claims.email, MIKOMO_EMAIL);

  const list = await api('GET', '/applications', { token });
  assert.equal(list.status, 200);
  assertNoHash(list);
  assert.deepEqual(list.json.applications.map((a: { client_id: string }) => a.client_id), [app.client_id]);
  assert.equal(list.json.applications[0].client_secret, undefined, 'the secret is returned once, at creation');

  const got = await api('GET', `/applications/${app.client_id}`, { token });
  assert.equal(got.status, 200);
  assertNoHash(got);
  assert.equal(got.json.client_secret, undefined);
  assert.equal(got.json.name, s.name);

  const patched = await api('PATCH', `/applications/${app.client_id}`, { token, body: { name: 'Renamed by API', redirect_uris: [s.redirect_uris, 'http://localhost:3000/cb'] } });
  assert.equal(patched.status, 200, patched.text);
  assertNoHash(patched);
  assert.equal(patched.json.name, 'Renamed by API');
  assert.deepEqual(patched.json.redirect_uris, [s.redirect_uris, 'http://localhost:3000/cb']);
  assert.equal(patched.json.logo_uri, s.logo_uri, 'PATCH keeps the fields it does not name');
  assert.equal(patched.json.client_secret, undefined);
  assert.ok(verifySecret(app.client_secret, (await net.store.getApplication(app.client_id))!.secretHash), 'the secret is unchanged');

  // Validation: 400 invalid_request with the fields.
  const invalid = await api('PATCH', `/applications/${app.client_id}`, { token, body: { logo_uri: 'javascript:alert(1)', redirect_uris: ['http://example.com/cb'] } });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json.error, 'invalid_request');
  assert.match(invalid.json.fields.logo_uri, /^Application logo must be an https URL: javascript: URLs are not allowed\./);
  assert.match(invalid.json.fields.redirect_uris, /^Redirect URL must use https/);
  assert.match(invalid.json.error_description, /Application logo/);
  assert.equal((await net.store.getApplication(app.client_id))!.name, 'Renamed by API', 'nothing changed');
  const missing = await api('POST', '/applications', { token, body: { redirect_uris: ['https://example.com/cb'] } });
  assert.equal(missing.status, 400);
  assert.match(missing.json.fields.name, /Application name is required/);
  const typed = await api('POST', '/applications', { token, body: { name: 7, redirect_uris: 'https://example.com/cb', token_endpoint_auth_method: 'none' } });
  assert.equal(typed.status, 400);
  assert.ok(typed.json.fields.name && typed.json.fields.token_endpoint_auth_method);
  const extra = await api('POST', '/applications', { token, body: { ...body, client_secret: 'mine', kind: 'production' } });
  assert.equal(extra.status, 400);
  assert.ok(extra.json.fields.client_secret && extra.json.fields.kind, 'read-only and unknown members are refused');
  const { pub, priv } = await publicAndPrivateJwk();
  const privateKey = await api('POST', '/applications', { token, body: { ...body, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [priv] } } });
  assert.equal(privateKey.status, 400);
  assert.equal(privateKey.json.fields.jwks, PRIVATE_JWK_MESSAGE);

  // Body handling: 415, bad JSON, not an object, too large.
  const text = await api('POST', '/applications', { token, body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(text.status, 415);
  assert.equal(text.json.error, 'invalid_request');
  const noBody = await api('POST', '/applications', { token });
  assert.equal(noBody.status, 415);
  const badJson = await api('POST', '/applications', { token, body: '{"name": ' });
  assert.equal(badJson.status, 400);
  assert.match(badJson.json.error_description, /not valid JSON/);
  const array = await api('POST', '/applications', { token, body: '[]' });
  assert.equal(array.status, 400);
  assert.match(array.json.error_description, /must be a JSON object/);
  const huge = await api('POST', '/applications', { token, body: { ...body, name: 'x'.repeat(70 * 1024) } });
  assert.equal(huge.status, 413);
  assert.match(huge.json.error_description, /64 KB/);

  // Switching to private_key_jwt drops the secret; switching back issues a new one (returned once).
  const toJwt = await api('PATCH', `/applications/${app.client_id}`, { token, body: { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] } } });
  assert.equal(toJwt.status, 200, toJwt.text);
  assert.equal(toJwt.json.client_secret, undefined);
  assert.deepEqual(toJwt.json.jwks, { keys: [pub] });
  assert.equal((await net.store.getApplication(app.client_id))!.secretHash, null);
  const noSecret = await api('POST', `/applications/${app.client_id}/rotate-secret`, { token });
  assert.equal(noSecret.status, 400);
  assert.match(noSecret.json.error_description, /no client secret to rotate/);
  const toBasic = await api('PATCH', `/applications/${app.client_id}`, { token, body: { token_endpoint_auth_method: 'client_secret_basic' } });
  assert.equal(toBasic.status, 200, toBasic.text);
  assert.equal(typeof toBasic.json.client_secret, 'string');
  assert.equal(toBasic.json.jwks, null, 'the keys went with private_key_jwt');
  assert.ok(verifySecret(toBasic.json.client_secret, (await net.store.getApplication(app.client_id))!.secretHash));

  // rotate-secret: the new secret once; the old one stops working at once.
  const rotated = await api('POST', `/applications/${app.client_id}/rotate-secret`, { token });
  assert.equal(rotated.status, 200);
  assertNoHash(rotated);
  assert.equal(typeof rotated.json.client_secret, 'string');
  assert.notEqual(rotated.json.client_secret, toBasic.json.client_secret);
  const old = await tokenRequest(app.client_id, toBasic.json.client_secret, { grant_type: 'authorization_code', code: 'x', redirect_uri: s.redirect_uris });
  assert.equal(old.status, 401);
  assert.equal(old.body.error, 'invalid_client');
  const fresh = await tokenRequest(app.client_id, rotated.json.client_secret, { grant_type: 'authorization_code', code: 'x', redirect_uri: s.redirect_uris });
  assert.equal(fresh.body.error, 'invalid_grant', 'the new secret authenticates the client (the made-up code is what fails)');

  // Unknown endpoints and methods.
  const nowhere = await api('GET', '/nothing-here', { token });
  assert.equal(nowhere.status, 404);
  assert.equal(nowhere.json.error, 'not_found');
  const put = await api('PUT', `/applications/${app.client_id}`, { token, body });
  assert.equal(put.status, 405);
  assert.match(put.headers.get('allow') ?? '', /PATCH/);

  // Delete: 204, then 404.
  const deleted = await api('DELETE', `/applications/${app.client_id}`, { token });
  assert.equal(deleted.status, 204);
  assert.equal(deleted.text, '');
  const gone = await api('GET', `/applications/${app.client_id}`, { token });
  assert.equal(gone.status, 404);
  assert.equal(gone.json.error, 'not_found');
  assert.equal((await api('DELETE', `/applications/${app.client_id}`, { token })).status, 404);

  const events = (await repo.auditLog(accountId)).filter((e) => e.detail.client_id === app.client_id);
  for (const e of ['application_created', 'application_updated', 'secret_rotated', 'application_deleted']) {
    assert.ok(events.some((x) => x.event === e && x.detail.via === 'api'), `audit ${e}`);
  }
});

test('API: a private_key_jwt application (public JWK Set Content) signs in with its own key', async () => {
  const { accountId } = await signUpAndSignIn(net);
  const token = await apiToken(net, accountId);
  const { pub, privateKey } = await publicAndPrivateJwk();
  const redirectUri = `${net.url}/oidc-proxy/proxy/auth0/callback`;
  const created = await api('POST', '/applications', {
    token,
    body: { name: 'Key app', redirect_uris: [redirectUri], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] } },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.client_secret, undefined, 'private_key_jwt has no secret');
  const config = await client.discovery(new URL(net.issuer), created.json.client_id, undefined, client.PrivateKeyJwt({ key: privateKey, kid: 'k1' }), {
    execute: [client.allowInsecureRequests],
    timeout: 5,
  });
  const claims = await loginClaims({ clientId: created.json.client_id, clientSecret: '', config }, redirectUri);
  assert.equal(claims.email, MIKOMO_EMAIL);
  assert.equal(claims.aud, created.json.client_id);
});
