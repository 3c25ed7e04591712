/**
 * One complete login of each kind, over real HTTP, as a relying party and a
 * browser would do it, with every answer checked (a broken run must fail, not
 * report numbers).
 */
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Browser, HopTimings, assertLoopback } from './browser.js';

export interface RelyingParty {
  /** openid-client configuration (discovered once, shared by every login) */
  config: client.Configuration;
  clientId: string;
  redirectUri: string;
  scope: string;
}

export async function relyingParty(issuer: string, clientId: string, clientSecret: string, redirectUri: string, scope: string): Promise<RelyingParty> {
  assertLoopback(issuer);
  const config = await client.discovery(new URL(issuer), clientId, clientSecret, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests],
    timeout: 30,
  });
  return { config, clientId, redirectUri, scope };
}

async function authorizationRequest(rp: RelyingParty) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: rp.scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { url: url.href, state, nonce, verifier };
}

/** Code -> tokens -> userinfo, checking state, nonce (by openid-client), the code and the email claim. */
async function redeem(rp: RelyingParty, callbackUrl: string, req: { state: string; nonce: string; verifier: string }, email: string, hops: HopTimings | undefined) {
  assert.ok(callbackUrl.startsWith(rp.redirectUri), `expected a redirect to the app, got ${callbackUrl}`);
  const params = new URL(callbackUrl).searchParams;
  assert.equal(params.get('error'), null, `the OP answered ${params.get('error')}: ${params.get('error_description')}`);
  assert.equal(params.get('state'), req.state, 'state mismatch');
  assert.ok(params.get('code'), 'no code in the callback');

  let t0 = performance.now();
  const tokens = await client.authorizationCodeGrant(rp.config, new URL(callbackUrl), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  hops?.add('token POST /token (openid-client)', performance.now() - t0);
  const id = tokens.claims();
  assert.ok(id, 'no ID token');
  assert.equal(id.aud, rp.clientId);
  assert.equal(id.email, email, 'email claim in the ID token');

  t0 = performance.now();
  const info = await client.fetchUserInfo(rp.config, tokens.access_token, id.sub);
  hops?.add('userinfo GET /me (openid-client)', performance.now() - t0);
  assert.equal(info.email, email, 'email claim at userinfo');
}

export const MIKOMO_USER = { username: 'mikomo_10', email: 'PhilipHLovett@mikomotest.com' };

/**
 * The brokered login: app -> /oidc/auth -> chooser -> POST bank (the network
 * PARs at Mikomo) -> Mikomo login form -> POST login -> network /banks/callback
 * (token + userinfo at Mikomo) -> consent -> POST Allow -> code -> token -> userinfo.
 */
export async function brokeredLogin(rp: RelyingParty, opts: { timeoutMs: number; hops?: HopTimings | undefined }): Promise<number> {
  const browser = new Browser({ timeoutMs: opts.timeoutMs, hops: opts.hops });
  const req = await authorizationRequest(rp);

  browser.step('1 authorize');
  let page = await browser.go(req.url, {}, rp.redirectUri);
  assert.match(page.body, /<h1>Choose your bank<\/h1>/, `expected the chooser, got ${page.status} ${page.url}\n${page.body.slice(0, 500)}`);

  browser.step('2 choose bank');
  page = await browser.submit(page, '/bank', { bank: 'mikomo' }, rp.redirectUri);
  assert.match(page.body, /<label for="username">Username<\/label>/, `expected Mikomo's login form, got ${page.status} ${page.url}\n${page.body.slice(0, 500)}`);

  browser.step('3 bank login');
  page = await browser.submit(page, '/login', { username: MIKOMO_USER.username, password: MIKOMO_USER.username }, rp.redirectUri);
  assert.match(page.body, /name="decision" value="allow"/, `expected the consent page, got ${page.status} ${page.url}\n${page.body.slice(0, 800)}`);

  browser.step('4 consent');
  page = await browser.submit(page, '/consent', { decision: 'allow' }, rp.redirectUri);

  await redeem(rp, page.url, req, MIKOMO_USER.email, opts.hops);
  return browser.requests + 2;
}

/** The one-hop baseline: auth -> login form -> POST login (+ consent) -> code -> token -> userinfo. */
export async function bareLogin(rp: RelyingParty, user: { username: string; password: string; email: string }, opts: { timeoutMs: number; hops?: HopTimings | undefined }): Promise<number> {
  const browser = new Browser({ timeoutMs: opts.timeoutMs, hops: opts.hops });
  const req = await authorizationRequest(rp);

  browser.step('1 authorize');
  let page = await browser.go(req.url, {}, rp.redirectUri);
  assert.match(page.body, /<label for="username">Username<\/label>/, `expected the login form, got ${page.status} ${page.url}\n${page.body.slice(0, 500)}`);

  browser.step('2 login');
  page = await browser.submit(page, '/login', { username: user.username, password: user.password }, rp.redirectUri);

  await redeem(rp, page.url, req, user.email, opts.hops);
  return browser.requests + 2;
}
