/**
 * The Auth0 proxy ("oidc-proxy"): a plain OAuth 2.0 server for an Auth0 custom
 * social connection, acting for the application whose client_id Auth0 sends.
 *   GET  /oidc-proxy/proxy/auth0/auth      Auth0's authorization request → the network login
 *   GET  /oidc-proxy/proxy/auth0/callback  the network's answer → Auth0's /login/callback
 *   POST /oidc-proxy/proxy/auth0/token     Auth0's token request → the network code is redeemed
 *   GET  /oidc-proxy/proxy/auth0/me        the user's claims for Auth0's profile script
 * Auth0 quirks handled here (see ../shared/reference/auth0-oauth2-connection.md):
 * no nonce, PKCE only when pkce_enabled, scopes comma- or space-separated,
 * credentials in the body, in Basic, or in both.
 */
import { randomBytes, createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import * as client from 'openid-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Application, Store } from '../store/store.js';
import { verifySecret } from '../store/store.js';
import { errorPage } from '../http/pages.js';
import { BodyError, readFormParams } from '../http/body.js';
import { isLoopbackHost, safeEqual } from '../http/crypto.js';
import { isLoopbackHttp } from '../connectors/connector.js';
import { SCOPES } from '../network/claims.js';
import { profileScript } from './script.js';
import { NETWORK_NAMESPACE } from '../network/provider.js';

export const PROXY_PREFIX = '/oidc-proxy/proxy/auth0';
const TX_MODEL = 'auth0proxy:Transaction';
const CODE_MODEL = 'auth0proxy:Code';
const REDEEMED_MODEL = 'auth0proxy:Redeemed';
const TX_TTL = 15 * 60;
/** A proxy code works once, for the client that got it, within 60 s. */
export const PROXY_CODE_TTL = 60;
const COOKIE = 'tl_auth0_proxy';

export interface ProxyDeps {
  config: Config;
  store: Store;
  log: Logger;
}

/** Auth0's callback: https://<tenant>.auth0.com/login/callback or a regional https://<tenant>.<region>.auth0.com/login/callback. */
const AUTH0_CALLBACK = /^https:\/\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z]{2}(?:-?\d)?)?\.auth0\.com\/login\/callback$/;

export function auth0CallbackAllowed(redirectUri: string, app: Application, allowLocalhost: boolean): boolean {
  if (AUTH0_CALLBACK.test(redirectUri)) return true;
  const listed = (app.extra.auth0_callback_urls as string[] | undefined) ?? [];
  if (listed.includes(redirectUri)) return true;
  if (allowLocalhost) {
    try {
      const u = new URL(redirectUri);
      return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackHost(u.hostname) && !u.hash;
    } catch {
      return false;
    }
  }
  return false;
}

/** "openid,email profile" → "openid email profile"; openid is always requested. */
export function normalizeScope(scope: string | undefined): string {
  const parts = (scope ?? '').split(/[\s,]+/).filter(Boolean);
  const unique = [...new Set(['openid', ...parts])];
  return unique.join(' ');
}

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function auth0ProxyRoutes({ config, store, log }: ProxyDeps): Router {
  const r = new Router({ prefix: PROXY_PREFIX });
  const base = config.publicUrl.href.replace(/\/+$/, '');
  const callbackUrl = `${base}${PROXY_PREFIX}/callback`;
  const secure = base.startsWith('https:');

  // The network's metadata, discovered over HTTP like any app would (cached).
  let metadata: Promise<client.ServerMetadata> | undefined;
  const serverMetadata = () =>
    (metadata ??= client
      .discovery(new URL(config.issuer), 'auth0-proxy', undefined, undefined, { timeout: 5, execute: isLoopbackHttp(config.issuer) ? [client.allowInsecureRequests] : [] })
      .then((c) => c.serverMetadata() as client.ServerMetadata)
      .catch((err) => {
        metadata = undefined;
        throw err;
      }));

  const configFor = async (app: Application, secret?: string) => {
    const auth = secret ? (app.authMethod === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret)) : client.None();
    const c = new client.Configuration(await serverMetadata(), app.clientId, secret ? { client_secret: secret } : {}, auth);
    c.timeout = 10;
    if (isLoopbackHttp(config.issuer)) client.allowInsecureRequests(c);
    return c;
  };

  const page = (ctx: Context, status: number, error: string, description: string) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = errorPage({ title: 'Sign-in with your bank could not start', error, description });
  };

  /** Sends an OAuth error back to Auth0 (only once its redirect_uri is validated). */
  const toAuth0 = (ctx: Context, redirectUri: string, params: Record<string, string | undefined>) => {
    const u = new URL(redirectUri);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
    ctx.status = 302;
    ctx.redirect(u.href);
  };

  // ------------------------------------------------------------------ auth
  r.get('/auth', async (ctx) => {
    const q = ctx.query;
    const clientId = one(q.client_id);
    const redirectUri = one(q.redirect_uri);
    const app = clientId ? await store.getApplication(clientId) : undefined;
    if (!app) return page(ctx, 400, 'invalid_client', 'The client_id in this request is not a TrustLane application. Check the Client ID in your Auth0 connection.');
    if (!redirectUri || !auth0CallbackAllowed(redirectUri, app, config.auth0AllowLocalhost)) {
      return page(ctx, 400, 'invalid_redirect_uri', 'The redirect_uri is not an Auth0 callback (https://YOUR_TENANT.auth0.com/login/callback) nor one of this application\'s "Allowed Auth0 callback URLs", so TrustLane did not send you there.');
    }
    const state = one(q.state);
    const fail = (error: string, description: string) => toAuth0(ctx, redirectUri, { error, error_description: description, state });
    if (one(q.response_type) !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (app.authMethod !== 'client_secret_basic' && app.authMethod !== 'client_secret_post') {
      return fail('unauthorized_client', 'The Auth0 path needs an application with client_secret_basic or client_secret_post.');
    }
    if (!app.redirectUris.includes(callbackUrl)) {
      return fail('unauthorized_client', `Register ${callbackUrl} as a Redirect URL of this application in the TrustLane console.`);
    }
    const scope = normalizeScope(one(q.scope));
    const unknown = scope.split(' ').filter((s) => !SCOPES.includes(s));
    if (unknown.length) return fail('invalid_scope', `Unknown scope: ${unknown.join(', ')}.`);
    const challenge = one(q.code_challenge);
    const method = one(q.code_challenge_method) ?? (challenge ? 'plain' : undefined);
    if (challenge && method !== 'S256') return fail('invalid_request', 'Only code_challenge_method=S256 is supported.');

    const ourState = client.randomState();
    const verifier = client.randomPKCECodeVerifier();
    // No nonce toward the network: Auth0 sent none, and the ID token it receives must carry none
    // (the network's state and PKCE bind this exchange; the code goes to our own back channel).
    await store.upsertOidc(TX_MODEL, ourState, { client_id: app.clientId, auth0_redirect_uri: redirectUri, auth0_state: state ?? null, code_challenge: challenge ?? null, scope, verifier }, TX_TTL);
    let url: URL;
    try {
      const params: Record<string, string> = {
        redirect_uri: callbackUrl,
        scope,
        state: ourState,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      };
      for (const extra of ['identity_provider_id', 'login_hint', 'prompt', 'ui_locales']) if (one(q[extra])) params[extra] = one(q[extra])!;
      url = client.buildAuthorizationUrl(await configFor(app), params);
    } catch (err) {
      log.error({ err }, 'auth0 proxy: network metadata unavailable');
      return fail('temporarily_unavailable', 'TrustLane is temporarily unavailable. Please try again.');
    }
    ctx.cookies.set(COOKIE, ourState, { httpOnly: true, sameSite: 'lax', secure, signed: true, path: PROXY_PREFIX, maxAge: TX_TTL * 1000, overwrite: true });
    ctx.redirect(url.href);
  });

  // ------------------------------------------------------------------ callback
  r.get('/callback', async (ctx) => {
    const state = one(ctx.query.state);
    const tx = state ? await store.takeOidc(TX_MODEL, state) : undefined;
    if (!tx) return page(ctx, 400, 'session_not_found', 'This sign-in has expired or was already finished. Go back to the application and start again.');
    const t = tx.payload as { client_id: string; auth0_redirect_uri: string; auth0_state: string | null; code_challenge: string | null; scope: string; verifier: string };
    const auth0State = t.auth0_state ?? undefined;
    // The browser that comes back must be the one that started (login CSRF).
    if (ctx.cookies.get(COOKIE, { signed: true }) !== state) {
      return toAuth0(ctx, t.auth0_redirect_uri, { error: 'access_denied', error_description: 'The sign-in was started in another browser.', state: auth0State });
    }
    ctx.cookies.set(COOKIE, null, { path: PROXY_PREFIX, signed: true });
    const error = one(ctx.query.error);
    if (error) return toAuth0(ctx, t.auth0_redirect_uri, { error, error_description: one(ctx.query.error_description), state: auth0State });
    const code = randomBytes(32).toString('base64url');
    await store.upsertOidc(CODE_MODEL, code, { ...t, callback: `${callbackUrl}${ctx.search}` }, PROXY_CODE_TTL);
    toAuth0(ctx, t.auth0_redirect_uri, { code, state: auth0State });
  });

  // ------------------------------------------------------------------ token
  const tokenError = (ctx: Context, status: number, error: string, description: string) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    if (status === 401) ctx.set('WWW-Authenticate', `Basic realm="${PROXY_PREFIX}/token", error="${error}"`);
    ctx.body = { error, error_description: description };
  };

  r.post('/token', async (ctx) => {
    if (!ctx.is('application/x-www-form-urlencoded')) return tokenError(ctx, 400, 'invalid_request', 'The token request must be application/x-www-form-urlencoded.');
    let body: URLSearchParams;
    try {
      body = await readFormParams(ctx, 16 * 1024);
    } catch (err) {
      return tokenError(ctx, 400, 'invalid_request', err instanceof BodyError && err.status === 413 ? 'The token request is too large.' : 'The token request could not be read.');
    }
    for (const p of ['grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret', 'code_verifier']) {
      if (body.getAll(p).length > 1) return tokenError(ctx, 400, 'invalid_request', `The ${p} parameter is repeated.`);
    }
    // Client credentials: in the body (Auth0's default), in Basic, or both when they agree.
    let basicId: string | undefined;
    let basicSecret: string | undefined;
    const auth = ctx.get('authorization');
    if (auth) {
      const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(auth);
      const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      const i = decoded.indexOf(':');
      if (!m || i < 0) return tokenError(ctx, 401, 'invalid_client', 'The Authorization header is not valid Basic credentials.');
      try {
        basicId = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, '%20'));
        basicSecret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, '%20'));
      } catch {
        // malformed %-encoding (RFC 6749 §2.3.1 form-encodes both parts): a client error, not a server error
        return tokenError(ctx, 401, 'invalid_client', 'The Authorization header is not valid Basic credentials.');
      }
    }
    const bodyId = body.get('client_id') ?? undefined;
    const bodySecret = body.get('client_secret') ?? undefined;
    if ((basicId !== undefined && bodyId !== undefined && basicId !== bodyId) || (basicSecret !== undefined && bodySecret !== undefined && basicSecret !== bodySecret)) {
      return tokenError(ctx, 400, 'invalid_request', 'The credentials in the Authorization header and in the body differ.');
    }
    const clientId = basicId ?? bodyId;
    const secret = basicSecret ?? bodySecret;
    if (!clientId || !secret) return tokenError(ctx, 401, 'invalid_client', 'Client authentication is required (client_id and client_secret).');
    const app = await store.getApplication(clientId);
    if (!app || !verifySecret(secret, app.secretHash)) return tokenError(ctx, 401, 'invalid_client', 'Client authentication failed.');
    if (body.get('grant_type') !== 'authorization_code') return tokenError(ctx, 400, 'unsupported_grant_type', 'Only grant_type=authorization_code is supported.');
    const code = body.get('code');
    if (!code) return tokenError(ctx, 400, 'invalid_request', 'The code parameter is missing.');
    const stored = await store.takeOidc(CODE_MODEL, code); // single use, expired ones are not returned
    if (!stored) {
      const redeemed = await store.takeOidc(REDEEMED_MODEL, code);
      if (redeemed) {
        // A used code came back: revoke the access token it was exchanged for.
        await store.destroyOidc(`${NETWORK_NAMESPACE}:AccessToken`, String(redeemed.payload.access_token));
        log.warn({ client: app.clientId }, 'auth0 proxy: replayed code, its access token was revoked');
      }
      return tokenError(ctx, 400, 'invalid_grant', 'The code is invalid, expired or already used.');
    }
    const c = stored.payload as { client_id: string; auth0_redirect_uri: string; code_challenge: string | null; verifier: string; callback: string };
    if (c.client_id !== app.clientId) return tokenError(ctx, 400, 'invalid_grant', 'The code was issued to another client.');
    if (body.get('redirect_uri') !== c.auth0_redirect_uri) return tokenError(ctx, 400, 'invalid_grant', 'The redirect_uri does not match the authorization request.');
    if (c.code_challenge) {
      const verifier = body.get('code_verifier') ?? '';
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (!verifier || !safeEqual(computed, c.code_challenge)) return tokenError(ctx, 400, 'invalid_grant', 'PKCE verification failed.');
    }
    try {
      const state = new URL(c.callback).searchParams.get('state') ?? undefined;
      const tokens = await client.authorizationCodeGrant(await configFor(app, secret), new URL(c.callback), { pkceCodeVerifier: c.verifier, ...(state ? { expectedState: state } : {}) });
      // Remembered briefly so a replay of this code revokes what it gave (RFC 6749 §4.1.2).
      await store.upsertOidc(REDEEMED_MODEL, code, { access_token: tokens.access_token }, 10 * 60);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        access_token: tokens.access_token,
        token_type: 'Bearer',
        expires_in: tokens.expires_in,
        scope: tokens.scope,
        id_token: tokens.id_token,
      };
    } catch (err) {
      log.warn({ err, client: app.clientId }, 'auth0 proxy: network code redemption failed');
      const status = (err as { status?: number }).status;
      if (status && status >= 500) return tokenError(ctx, 503, 'temporarily_unavailable', 'TrustLane is temporarily unavailable.');
      return tokenError(ctx, 400, 'invalid_grant', 'The code could not be redeemed.');
    }
  });

  // ------------------------------------------------------------------ me
  r.get('/me', async (ctx) => {
    const auth = ctx.get('authorization');
    const token = /^Bearer ([^\s]+)$/i.exec(auth)?.[1];
    ctx.set('Cache-Control', 'no-store');
    const unauthorized = (description: string) => {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Bearer realm="${PROXY_PREFIX}", error="invalid_token", error_description="${description}"`);
      ctx.body = { error: 'invalid_token', error_description: description };
    };
    if (!token) return unauthorized('A Bearer access token is required.');
    try {
      const meta = await serverMetadata();
      const res = await fetch(meta.userinfo_endpoint!, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      if (res.status === 401) {
        await res.arrayBuffer();
        return unauthorized('The access token is invalid, expired or revoked.');
      }
      if (res.status !== 200) {
        await res.arrayBuffer();
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable' };
        return;
      }
      ctx.body = await res.json();
    } catch (err) {
      log.warn({ err }, 'auth0 proxy: userinfo failed');
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable' };
    }
  });

  return r;
}

/** GET /integrations/auth0/fetchUserProfile.js: the script to paste into Auth0, with this host filled in. */
export function auth0ScriptRoute(base: string): Router {
  const r = new Router();
  r.get('/integrations/auth0/fetchUserProfile.js', (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = profileScript(base);
  });
  return r;
}
