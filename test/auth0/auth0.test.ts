/**
 * The Auth0 path end to end: an Auth0 emulator (test/helpers/auth0-emulator.ts)
 * with a custom social connection configured as an admin would (the TrustLane
 * proxy's URLs, the profile script fetched from the deployment), the real
 * proxy and network, a sandbox bank, and the browser driven by the test Agent.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, type PageResult } from '../helpers/agent.js';
import { openTestStore, startTestNetwork, submit, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { auth0ResultOf, startAuth0Emulator, type LoginStage as LoginStageName, type Auth0Connection, type Auth0ConnectionOptions, type Auth0Emulator, type Auth0User } from '../helpers/auth0-emulator.js';
import { now } from '../../src/store/store.js';

const CONNECTION = 'TrustLane';
const EMAIL = 'PhilipHLovett@mikomotest.com';

let handle: TestStoreHandle;
let net: TestNetwork;
let clientId: string;
let clientSecret: string;
let script: string;
let proxy: string;

before(async () => {
  handle = await openTestStore();
  net = await startTestNetwork(handle.store);
  proxy = `${net.url}/oidc-proxy/proxy/auth0`;
  // The application, as the console creates it from the Auth0 guide.
  const { application, clientSecret: secret } = await net.store.createApplication({
    name: 'Auth0 social connection',
    authMethod: 'client_secret_basic',
    redirectUris: [`${net.url}/oidc-proxy/proxy/auth0/callback`],
    originUrl: `${net.url}/oidc-proxy/proxy/auth0/auth`,
    kind: 'sandbox',
  });
  clientId = application.clientId;
  clientSecret = secret!;
  // The "Fetch User Profile Script", exactly what the admin pastes.
  const res = await fetch(`${net.url}/integrations/auth0/fetchUserProfile.js`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  script = await res.text();
  assert.match(script, /^function \(accessToken, ctx, callback\) \{/);
});
after(async () => {
  await net?.close();
  await handle?.cleanup();
});

function connection(options: Partial<Auth0ConnectionOptions> = {}): Auth0Connection {
  return {
    name: CONNECTION,
    strategy: 'oauth2',
    options: {
      authorizationURL: `${proxy}/auth`,
      tokenURL: `${proxy}/token`,
      scope: 'openid email profile',
      client_id: clientId,
      client_secret: clientSecret,
      scripts: { fetchUserProfile: script },
      set_user_root_attributes: 'on_each_login',
      ...options,
    },
  };
}

const emulators: Auth0Emulator[] = [];
async function emulator(options: Partial<Auth0ConnectionOptions> = {}): Promise<Auth0Emulator> {
  const emu = await startAuth0Emulator({ connectionName: CONNECTION, connection: connection(options) });
  emulators.push(emu);
  return emu;
}
after(async () => {
  await Promise.all(emulators.map((e) => e.close()));
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * The user's browser: the app sends it to Auth0's /authorize, Auth0 to the
 * proxy, the proxy to the network; chooser → Mikomo Bank → consent; back through
 * the proxy to Auth0's /login/callback, which finishes on the result page.
 * With `stopAt`, stops before requesting a URL that starts with it.
 */
async function browserLogin(
  emu: Auth0Emulator,
  opts: { agent?: Agent; connectionScope?: string; decision?: 'allow' | 'deny'; stopAt?: string; username?: string } = {},
): Promise<{ page: PageResult; hops: PageResult['hops']; appState: string }> {
  const agent = opts.agent ?? new Agent();
  const appState = `app-${Math.random().toString(36).slice(2)}`;
  const start = new URL(`${emu.url}/authorize`);
  start.searchParams.set('client_id', 'the-app-at-auth0');
  start.searchParams.set('response_type', 'code');
  start.searchParams.set('redirect_uri', 'http://127.0.0.1:1/app/callback');
  start.searchParams.set('connection', CONNECTION);
  start.searchParams.set('state', appState);
  if (opts.connectionScope) start.searchParams.set('connection_scope', opts.connectionScope);
  const stop = opts.stopAt ?? `${emu.url}/never`;
  let page = await agent.go(start.href, {}, stop);
  const hops = [...page.hops];
  for (let i = 0; i < 6; i++) {
    if (page.url.startsWith(stop)) break;
    if (/<h1>Choose your bank<\/h1>/.test(page.body)) page = await submit(agent, page, '/bank', { bank: 'mikomo' }, stop);
    else if (/<label for="username">Username<\/label>/.test(page.body)) page = await submit(agent, page, '/login', { username: opts.username ?? 'mikomo_10', password: opts.username ?? 'mikomo_10' }, stop);
    else if (/name="decision" value="allow"/.test(page.body)) page = await submit(agent, page, '/consent', { decision: opts.decision ?? 'allow' }, stop);
    else break;
    hops.push(...page.hops);
  }
  return { page, hops, appState };
}

/** The hop whose Location goes to `prefix`, as a URL. */
function locationTo(hops: PageResult['hops'], prefix: string): URL {
  const hop = hops.find((h) => h.location?.startsWith(prefix));
  assert.ok(hop, `no redirect to ${prefix} among ${hops.map((h) => `${h.status} ${h.url} -> ${h.location ?? ''}`).join('\n')}`);
  return new URL(hop.location!);
}

function signedIn(page: PageResult): Auth0User {
  const r = auth0ResultOf(page.body);
  assert.ok(r.user, `expected the Auth0 user on the result page, got ${page.status} ${page.url}\n${page.body.slice(0, 1500)}`);
  return r.user;
}

async function me(token?: string): Promise<Response> {
  return fetch(`${proxy}/me`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
}

async function postToken(form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${proxy}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// --------------------------------------------------------------------------- scopes, credentials, profile

test('Auth0 defaults (space-separated scope, credentials in the body, no PKCE): the user is oauth2|<connection>|<sub> with the mapped profile', async () => {
  const emu = await emulator({ useOauthSpecScope: true });
  const { page, hops, appState } = await browserLogin(emu);
  const user = signedIn(page);

  // What Auth0 sent to the proxy: no nonce, no PKCE, its own state, the space-separated scope.
  const auth = locationTo(hops, `${proxy}/auth`);
  assert.equal(auth.searchParams.get('scope'), 'openid email profile');
  assert.equal(auth.searchParams.get('response_type'), 'code');
  assert.equal(auth.searchParams.get('client_id'), clientId);
  assert.equal(auth.searchParams.get('redirect_uri'), emu.callbackUrl);
  assert.equal(auth.searchParams.get('nonce'), null);
  assert.equal(auth.searchParams.get('code_challenge'), null);
  assert.notEqual(auth.searchParams.get('state'), appState);
  // The proxy answered Auth0 with a code and Auth0's state.
  const back = locationTo(hops, emu.callbackUrl);
  assert.equal(back.searchParams.get('state'), auth.searchParams.get('state'));
  assert.ok(back.searchParams.get('code'));

  // The token request: body credentials only.
  const tr = emu.tokenRequests.at(-1)!;
  assert.equal(tr.headers.authorization, undefined);
  assert.equal(tr.body.client_id, clientId);
  assert.equal(tr.body.client_secret, clientSecret);
  assert.equal(tr.body.code_verifier, undefined);
  assert.equal(tr.status, 200);

  // The Auth0 user: user_id from the network's sub, the normalized profile.
  const claims = (await (await me(user.identities[0]!.access_token)).json()) as Record<string, unknown>;
  assert.equal(typeof claims.sub, 'string');
  assert.equal(user.user_id, `oauth2|${CONNECTION}|${claims.sub}`);
  assert.equal(user.identities[0]!.user_id, `${CONNECTION}|${claims.sub}`);
  assert.equal(user.email, EMAIL);
  assert.equal(user.email_verified, true);
  assert.equal(user.name, 'Philip Lovett');
  assert.equal(user.given_name, 'Philip');
  assert.equal(user.family_name, 'Lovett');
  assert.equal(user.nickname, 'Philip');
  assert.equal(user.birthdate, '1979-05-14');
  assert.equal(user.address, undefined, 'address was not requested');
  assert.equal(user.logins_count, 1);
  assert.deepEqual(emu.users.get(user.user_id)?.email, EMAIL);
  assert.equal(emu.lastResult?.ok, true);
  assert.equal(emu.lastResult?.appState, appState);
  assert.deepEqual(emu.scriptErrors, []);
});

test('comma-separated scopes (the Auth0 default delimiter) work, and connection_scope is merged with a comma', async () => {
  const emu = await emulator({ scope: 'openid,email,profile' });
  const { page, hops } = await browserLogin(emu, { connectionScope: 'address' });
  const user = signedIn(page);
  assert.equal(locationTo(hops, `${proxy}/auth`).searchParams.get('scope'), 'openid,email,profile,address');
  assert.equal(user.email, EMAIL);
  assert.equal(user.name, 'Philip Lovett');
  assert.deepEqual(user.address, { street_address: '7572 Chowning Rd', locality: 'Springfield', region: 'TN', postal_code: '37172', country: 'US' });
  assert.equal(user.phone_number, undefined);
});

test('a space-separated scope with connection_scope joined by a comma (useOauthSpecScope off) works', async () => {
  const emu = await emulator();
  const { page, hops } = await browserLogin(emu, { connectionScope: 'phone' });
  const user = signedIn(page);
  assert.equal(locationTo(hops, `${proxy}/auth`).searchParams.get('scope'), 'openid email profile,phone');
  assert.equal(user.phone_number, '+16155550110');
});

test('useOauthSpecScope merges connection_scope with a space', async () => {
  const emu = await emulator({ useOauthSpecScope: true });
  const { page, hops } = await browserLogin(emu, { connectionScope: 'phone age_over_18' });
  const user = signedIn(page);
  assert.equal(locationTo(hops, `${proxy}/auth`).searchParams.get('scope'), 'openid email profile phone age_over_18');
  assert.equal(user.phone_number, '+16155550110');
  assert.equal(user.age_over_18, true);
});

test('Basic only (a non-Auth0 client, for contrast) redeems the proxy code', async () => {
  const emu = await emulator();
  const { page } = await browserLogin(emu, { stopAt: emu.callbackUrl });
  const code = new URL(page.url).searchParams.get('code')!;
  const r = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl }, { authorization: basic(clientId, clientSecret) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(typeof r.body.access_token, 'string');
  assert.equal(typeof r.body.id_token, 'string');
  const claims = (await (await me(r.body.access_token as string)).json()) as Record<string, unknown>;
  assert.equal(claims.email, EMAIL);
});

test('Basic via customHeaders plus the body secret (what Auth0 then sends) is accepted when they agree', async () => {
  const emu = await emulator({ customHeaders: { Authorization: basic(clientId, clientSecret) } });
  const { page } = await browserLogin(emu);
  const user = signedIn(page);
  assert.equal(user.email, EMAIL);
  const tr = emu.tokenRequests.at(-1)!;
  assert.equal(tr.headers.Authorization, basic(clientId, clientSecret));
  assert.equal(tr.body.client_secret, clientSecret);
});

test('Basic via customHeaders that differs from the body secret is refused with 400 invalid_request', async () => {
  const emu = await emulator({ customHeaders: { Authorization: basic(clientId, 'not-the-secret') } });
  const { page } = await browserLogin(emu);
  const r = auth0ResultOf(page.body);
  assert.equal(r.user, undefined);
  assert.equal(r.error?.stage, 'token');
  assert.equal(r.error?.status, 400);
  assert.equal(r.error?.error, 'invalid_request');
  assert.equal(emu.lastResult?.ok, false);
  assert.equal(emu.users.size, 0);
});

test('malformed client authentication at /token is a 401 invalid_client, never a server error', async () => {
  for (const authorization of [basic('%zz', 'secret'), `Basic ${Buffer.from(`${clientId}:%E0%A4%A`).toString('base64')}`, 'Basic !!!', basic(clientId, 'wrong-secret')]) {
    const r = await postToken({ grant_type: 'authorization_code', code: 'x', redirect_uri: 'http://127.0.0.1/login/callback' }, { authorization });
    assert.equal(r.status, 401, authorization);
    assert.equal(r.body.error, 'invalid_client');
  }
  const none = await postToken({ grant_type: 'authorization_code', code: 'x' });
  assert.equal(none.status, 401);
  assert.equal(none.body.error, 'invalid_client');
});

// --------------------------------------------------------------------------- PKCE

test('PKCE on: S256 challenge at /auth, code_verifier at /token', async () => {
  const emu = await emulator({ pkce_enabled: true });
  const { page, hops } = await browserLogin(emu);
  const user = signedIn(page);
  const auth = locationTo(hops, `${proxy}/auth`);
  assert.ok(auth.searchParams.get('code_challenge'));
  assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(emu.tokenRequests.at(-1)!.body.code_verifier);
  assert.equal(user.email, EMAIL);
});

test('PKCE on: a wrong or missing code_verifier is refused with invalid_grant, and the code is then spent', async () => {
  const emu = await emulator({ pkce_enabled: true });
  const agent = new Agent();
  let { page } = await browserLogin(emu, { agent, stopAt: emu.callbackUrl });
  let code = new URL(page.url).searchParams.get('code')!;
  const wrong = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl, client_id: clientId, client_secret: clientSecret, code_verifier: 'x'.repeat(43) });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
  // The browser now reaches Auth0, which redeems with the right verifier: too late.
  const late = auth0ResultOf((await agent.go(page.url)).body);
  assert.equal(late.error?.stage, 'token');
  assert.equal(late.error?.error, 'invalid_grant');
  assert.ok(emu.tokenRequests.at(-1)!.body.code_verifier);

  ({ page } = await browserLogin(emu, { stopAt: emu.callbackUrl }));
  code = new URL(page.url).searchParams.get('code')!;
  const missing = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl, client_id: clientId, client_secret: clientSecret });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_grant');
  assert.equal(emu.users.size, 0);
});

// --------------------------------------------------------------------------- repeat logins

test('a second login of the same person keeps the Auth0 user_id and updates the root attributes (on_each_login)', async () => {
  const emu = await emulator();
  const agent = new Agent();
  const first = signedIn((await browserLogin(emu, { agent })).page);
  // Someone edited the root attributes in Auth0 meanwhile.
  const stored = emu.users.get(first.user_id)!;
  emu.users.set(first.user_id, { ...stored, name: 'Edited', given_name: 'Edited', family_name: 'Edited', nickname: 'edited' });
  const second = signedIn((await browserLogin(emu, { agent })).page);
  assert.equal(second.user_id, first.user_id);
  assert.equal(emu.users.size, 1);
  assert.equal(second.logins_count, 2);
  assert.equal(second.name, 'Philip Lovett');
  assert.equal(second.given_name, 'Philip');
  assert.equal(second.family_name, 'Lovett');
  assert.equal(second.nickname, 'Philip');
  assert.equal(second.created_at, first.created_at);
  assert.notEqual(second.identities[0]!.access_token, first.identities[0]!.access_token);
});

test('on_first_login keeps root attributes edited in Auth0', async () => {
  const emu = await emulator({ set_user_root_attributes: 'on_first_login' });
  const first = signedIn((await browserLogin(emu)).page);
  emu.users.set(first.user_id, { ...emu.users.get(first.user_id)!, name: 'Edited' });
  const second = signedIn((await browserLogin(emu)).page);
  assert.equal(second.user_id, first.user_id);
  assert.equal(second.name, 'Edited');
  assert.equal(second.email, EMAIL);
});

// --------------------------------------------------------------------------- errors at /auth and /callback

test('the user denying consent: Auth0 gets access_denied with its state and records the failure', async () => {
  const emu = await emulator();
  const { page, hops } = await browserLogin(emu, { decision: 'deny' });
  const sent = locationTo(hops, `${proxy}/auth`);
  const back = locationTo(hops, emu.callbackUrl);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), sent.searchParams.get('state'));
  assert.equal(back.searchParams.get('code'), null);
  const r = auth0ResultOf(page.body);
  assert.equal(r.error?.stage, 'callback');
  assert.equal(r.error?.error, 'access_denied');
  assert.equal(emu.lastResult?.ok, false);
  assert.equal(emu.tokenRequests.length, 0);
  assert.equal(emu.users.size, 0);
});

test('a foreign redirect_uri is refused with an error page and never redirected to; Auth0 tenant callbacks are accepted', async () => {
  const agent = new Agent();
  const params = (redirectUri: string) => new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid email profile', state: 'auth0-state' });
  const evil = 'https://evil.example/login/callback';
  const res = await agent.request(`${proxy}/auth?${params(evil)}`);
  const body = await res.text();
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null);
  assert.match(body, /invalid_redirect_uri/);
  assert.ok(!body.includes('href="https://evil.example'), 'no link to the foreign callback');

  for (const tenant of ['https://my-tenant.auth0.com/login/callback', 'https://my-tenant.eu.auth0.com/login/callback']) {
    const ok = await agent.request(`${proxy}/auth?${params(tenant)}`);
    await ok.arrayBuffer();
    assert.equal(ok.status, 302, tenant);
    assert.ok(ok.headers.get('location')!.startsWith(`${net.issuer}/auth?`), `${tenant} -> ${ok.headers.get('location')}`);
  }
});

// --------------------------------------------------------------------------- codes

test('a proxy code works once: a replay is refused with invalid_grant', async () => {
  const emu = await emulator();
  const { page, hops } = await browserLogin(emu);
  signedIn(page);
  const code = locationTo(hops, emu.callbackUrl).searchParams.get('code')!;
  const replay = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl, client_id: clientId, client_secret: clientSecret });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
});

test('a proxy code redeemed by another application (valid credentials) is refused with invalid_grant', async () => {
  const other = await net.store.createApplication({ name: 'Other app', authMethod: 'client_secret_basic', redirectUris: [`${net.url}/oidc-proxy/proxy/auth0/callback`], kind: 'sandbox' });
  const emu = await emulator();
  const { page } = await browserLogin(emu, { stopAt: emu.callbackUrl });
  const code = new URL(page.url).searchParams.get('code')!;
  const r = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl, client_id: other.application.clientId, client_secret: other.clientSecret! });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
});

test('an expired proxy code is refused with invalid_grant', async () => {
  const emu = await emulator();
  const agent = new Agent();
  const { page } = await browserLogin(emu, { agent, stopAt: emu.callbackUrl });
  const code = new URL(page.url).searchParams.get('code')!;
  assert.ok(await net.store.findOidc('auth0proxy:Code', code), 'the code exists before it expires');
  await net.store.expireOidcNow('auth0proxy:Code', code);
  // The browser reaches Auth0's callback; Auth0 tries to redeem the code.
  const r = auth0ResultOf((await agent.go(page.url)).body);
  assert.equal(r.error?.stage, 'token');
  assert.equal(r.error?.status, 400);
  assert.equal(r.error?.error, 'invalid_grant');
  assert.equal((emu.tokenRequests.at(-1)!.response as { error: string }).error, 'invalid_grant');
  assert.equal(emu.users.size, 0);
});

// --------------------------------------------------------------------------- /me

test('/me without a token, with a revoked one, with an expired one: 401 with WWW-Authenticate', async () => {
  const none = await me();
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
  await none.arrayBuffer();

  const emu = await emulator();
  const revoked = signedIn((await browserLogin(emu)).page).identities[0]!.access_token;
  assert.equal((await me(revoked)).status, 200);
  const rev = await fetch(`${net.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, clientSecret) },
    body: new URLSearchParams({ token: revoked, token_type_hint: 'access_token' }).toString(),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(rev.status, 200);
  await rev.arrayBuffer();
  const afterRevoke = await me(revoked);
  assert.equal(afterRevoke.status, 401);
  assert.match(afterRevoke.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  assert.equal(((await afterRevoke.json()) as { error: string }).error, 'invalid_token');

  const expiring = signedIn((await browserLogin(emu)).page).identities[0]!.access_token;
  assert.equal((await me(expiring)).status, 200);
  assert.ok(await net.store.findOidc('network:AccessToken', expiring), 'the token exists before it expires');
  await net.store.expireOidcNow('network:AccessToken', expiring);
  const afterExpiry = await me(expiring);
  assert.equal(afterExpiry.status, 401);
  assert.match(afterExpiry.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  await afterExpiry.arrayBuffer();
});

// --------------------------------------------------------------------------- the emulator's own Auth0 behaviour

test('emulator: a profile script reading ctx.id_token with a pinned require works like a recipe script', async () => {
  const idTokenScript = `function (accessToken, ctx, callback) {
  var decode = require('jwt-decode@3.1.2');
  var claims = decode(ctx.id_token);
  if (!ctx.access_token || ctx.token_type !== 'Bearer') return callback(new Error('no token response in ctx'));
  callback(null, { user_id: claims.sub, email: claims.email, name: claims.name });
}`;
  const emu = await emulator({ scripts: { fetchUserProfile: idTokenScript } });
  const user = signedIn((await browserLogin(emu)).page);
  assert.equal(user.email, EMAIL);
  assert.equal(user.name, 'Philip Lovett');
  assert.match(user.user_id, new RegExp(`^oauth2\\|${CONNECTION}\\|.+`));
});

test('emulator: script failures are Auth0 login failures (no user_id, double callback, timeout, non-loopback request)', async () => {
  const cases: [string, RegExp, LoginStageName][] = [
    ["function (a, ctx, cb) { cb(null, { email: 'x@y.z' }); }", /no user_id/, 'profile'],
    ["function (a, ctx, cb) { cb(null, { user_id: 'a' }); cb(null, { user_id: 'b' }); }", /more than once/, 'script'],
    ['function (a, ctx, cb) { /* never calls back */ }', /did not complete/, 'script'],
    ["function (a, ctx, cb) { request.get({ url: 'https://example.com/' }, function (err) { cb(err || new Error('reached')); }); }", /loopback only/, 'script'],
    ["function (a, ctx, cb) { require('fs'); }", /allow-list/, 'script'],
  ];
  for (const [fetchUserProfile, message, stage] of cases) {
    const emu = await startAuth0Emulator({ connection: connection({ scripts: { fetchUserProfile } }), scriptTimeoutMs: 300 });
    emulators.push(emu);
    const r = auth0ResultOf((await browserLogin(emu)).page.body);
    assert.equal(r.error?.stage, stage, fetchUserProfile);
    assert.match(r.error?.error_description ?? '', message);
    assert.equal(emu.users.size, 0);
  }
});

test('emulator: a callback with an unknown state, or from another browser, fails like Auth0 ("Invalid state")', async () => {
  const emu = await emulator();
  const agent = new Agent();
  const forged = await agent.go(`${emu.callbackUrl}?state=forged&code=abc`);
  assert.equal(auth0ResultOf(forged.body).error?.error_description, 'Invalid state');
  // A real transaction, but the callback arrives in a browser without its cookie.
  const { page } = await browserLogin(emu, { stopAt: emu.callbackUrl });
  const other = await new Agent().go(page.url);
  assert.equal(auth0ResultOf(other.body).error?.stage, 'state');
  assert.equal(emu.tokenRequests.length, 0);
});

test('a replayed proxy code revokes the access token it was exchanged for; the ID token Auth0 gets has no nonce', async () => {
  const emu = await emulator();
  const { page } = await browserLogin(emu, { stopAt: emu.callbackUrl });
  const code = new URL(page.url).searchParams.get('code')!;
  const first = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl, client_id: clientId, client_secret: clientSecret });
  assert.equal(first.status, 200);
  const idToken = JSON.parse(Buffer.from(String(first.body.id_token).split('.')[1]!, 'base64url').toString());
  assert.equal(idToken.nonce, undefined, 'Auth0 sent no nonce, so the ID token carries none');
  const accessToken = String(first.body.access_token);
  assert.equal((await me(accessToken)).status, 200);
  const replay = await postToken({ grant_type: 'authorization_code', code, redirect_uri: emu.callbackUrl, client_id: clientId, client_secret: clientSecret });
  assert.equal(replay.body.error, 'invalid_grant');
  assert.equal((await me(accessToken)).status, 401, 'revoked after the replay');
});

test('repeated token request parameters are refused', async () => {
  const res = await fetch(`${proxy}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=authorization_code&code=a&code=b&redirect_uri=x&client_id=${encodeURIComponent(clientId)}&client_secret=${encodeURIComponent(clientSecret)}`,
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
});
