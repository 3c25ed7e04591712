/**
 * The demo application: a tiny relying party served at /demo that signs people
 * in through the network exactly as any app would (openid-client over HTTP,
 * authorization code + PKCE + state + nonce), then shows what it received.
 * Its own credentials are the app's (kept in the settings table, as any app
 * keeps its secret); the network's registry only holds the secret's hash.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import * as client from 'openid-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { html, layout } from '../http/html.js';
import { isLoopbackHttp } from '../connectors/connector.js';
import { hmac, safeEqual } from '../http/crypto.js';

export interface DemoApp {
  clientId: string;
  clientSecret: string;
  created: boolean;
}

export const DEMO_SETTING = 'demo:client';

export async function provisionDemo(store: Store, base: string): Promise<DemoApp> {
  const redirect = `${base}/demo/callback`;
  const existing = await store.getSetting(DEMO_SETTING);
  if (existing) {
    const d = JSON.parse(existing) as { client_id: string; client_secret: string };
    const app = await store.getApplication(d.client_id);
    if (app) {
      if (!app.redirectUris.includes(redirect)) {
        // PUBLIC_URL changed: register the new callback too (no other app is touched).
        await store.updateApplication(app.clientId, { redirectUris: [...app.redirectUris, redirect] });
      }
      return { clientId: d.client_id, clientSecret: d.client_secret, created: false };
    }
  }
  const { application, clientSecret } = await store.createApplication({
    name: 'TrustLane Demo',
    redirectUris: [redirect],
    originUrl: `${base}/demo`,
    authMethod: 'client_secret_basic',
    kind: 'sandbox',
  });
  const value = JSON.stringify({ client_id: application.clientId, client_secret: clientSecret });
  if (existing) await store.setSetting(DEMO_SETTING, value);
  const won = existing ? value : await store.setSettingIfAbsent(DEMO_SETTING, value);
  if (won !== value) {
    await store.deleteApplication(application.clientId); // another node provisioned it first
    const d = JSON.parse(won) as { client_id: string; client_secret: string };
    return { clientId: d.client_id, clientSecret: d.client_secret, created: false };
  }
  return { clientId: application.clientId, clientSecret: clientSecret!, created: true };
}

const COOKIE = 'tl_demo_tx';

export function demoRoutes({ config, log, demo, cookieSecret }: { config: Config; log: Logger; demo: DemoApp; cookieSecret: string }): Router {
  const router = new Router({ prefix: '/demo' });
  const base = config.publicUrl.href.replace(/\/+$/, '');
  const redirectUri = `${base}/demo/callback`;
  let configuration: Promise<client.Configuration> | undefined;
  const getConfig = () =>
    (configuration ??= client
      .discovery(new URL(config.issuer), demo.clientId, demo.clientSecret, client.ClientSecretBasic(demo.clientSecret), {
        timeout: 5,
        execute: isLoopbackHttp(config.issuer) ? [client.allowInsecureRequests] : [],
      })
      .catch((err) => {
        configuration = undefined;
        throw err;
      }));

  const sign = (v: string) => `${v}.${hmac(cookieSecret, `demo:${v}`)}`;
  const unsign = (s: string | undefined) => {
    if (!s) return undefined;
    const i = s.lastIndexOf('.');
    const v = s.slice(0, i);
    return safeEqual(sign(v), s) ? v : undefined;
  };

  const page = (ctx: Context, title: string, body: ReturnType<typeof html>) => {
    ctx.type = 'html';
    ctx.body = layout({ title, body });
  };

  router.get('/', (ctx) =>
    page(
      ctx,
      'Demo app',
      html`<section class="card"><h1>TrustLane demo app</h1>
<p>This page is an ordinary application (client_id <code>${demo.clientId}</code>) using the network.</p>
<form method="get" action="/demo/login" class="actions"><button class="primary" type="submit">Sign in with your bank</button></form>
<p class="muted">Try Mikomo Bank with <code>mikomo_10</code> / <code>mikomo_10</code>.</p></section>`,
    ),
  );

  router.get('/login', async (ctx) => {
    const cfg = await getConfig();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid email profile address phone age_over_18 age_over_21',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    };
    if (typeof ctx.query.bank === 'string') params.identity_provider_id = ctx.query.bank;
    ctx.cookies.set(COOKIE, sign(Buffer.from(JSON.stringify({ verifier, state, nonce })).toString('base64url')), {
      httpOnly: true,
      sameSite: 'lax',
      secure: base.startsWith('https:'),
      maxAge: 15 * 60 * 1000,
      path: '/demo',
    });
    ctx.redirect(client.buildAuthorizationUrl(cfg, params).href);
  });

  router.get('/callback', async (ctx) => {
    const raw = unsign(ctx.cookies.get(COOKIE));
    ctx.cookies.set(COOKIE, null, { path: '/demo' });
    if (typeof ctx.query.error === 'string') {
      return page(ctx, 'Sign-in failed', html`<section class="card error"><h1>Sign-in did not complete</h1><p>The network answered <code id="error">${ctx.query.error}</code>: ${String(ctx.query.error_description ?? '')}</p><p><a href="/demo">Try again</a></p></section>`);
    }
    if (!raw) return page(ctx, 'Sign-in expired', html`<section class="card error"><h1>Sign-in expired</h1><p><a href="/demo">Start again</a></p></section>`);
    const tx = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { verifier: string; state: string; nonce: string };
    try {
      const cfg = await getConfig();
      const tokens = await client.authorizationCodeGrant(cfg, new URL(`${redirectUri}${ctx.search}`), { pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce });
      const idClaims = tokens.claims()!;
      const userinfo = await client.fetchUserInfo(cfg, tokens.access_token, idClaims.sub);
      const rows = Object.entries(userinfo).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</td></tr>`);
      return page(ctx, 'Signed in', html`<section class="card"><h1>Signed in</h1><p>Claims the app received from the network (userinfo):</p><table id="claims">${rows}</table><p><a href="/demo">Sign in again</a></p></section>`);
    } catch (err) {
      log.warn({ err }, 'demo app callback failed');
      return page(ctx, 'Sign-in failed', html`<section class="card error"><h1>Sign-in could not be verified</h1><p><a href="/demo">Try again</a></p></section>`);
    }
  });

  return router;
}
