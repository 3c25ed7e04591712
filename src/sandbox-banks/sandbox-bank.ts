/**
 * A sandbox bank: a real provider (oidc-provider v9) with its own issuer, keys
 * and store namespace, served by the same process under /sandbox/<slug> and
 * reached by the network over HTTP exactly as an external bank would be.
 *   - kind "oidc":   an OpenID Provider (Mikomo Bank: PAR, PKCE, private_key_jwt, PS256)
 *   - kind "oauth2": plain OAuth 2.0 with its own /me resource and field names (Future Bank)
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import Provider, { interactionPolicy, type Configuration, type KoaContextWithOIDC, type ClientMetadata } from 'oidc-provider';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { verifySecret } from '../store/store.js';
import { adapterFactory } from '../store/oidc-adapter.js';
import { html, layout } from '../http/html.js';
import { errorPage } from '../http/pages.js';
import { readForm } from '../http/body.js';
import { hmac, safeEqual } from '../http/crypto.js';
import { oidcClaims, futureBankProfile, type TestUser } from './test-users.js';

export interface SandboxBankDefinition {
  slug: string;
  name: string;
  kind: 'oidc' | 'oauth2';
  users: TestUser[];
  /** signing algorithm of the bank's own keys */
  alg: 'PS256' | 'RS256';
  /** OIDC banks: support the claims parameter (default true), so claims can come in the ID token. */
  claimsParameter?: boolean;
}

export interface SandboxBankOptions {
  def: SandboxBankDefinition;
  base: string; // PUBLIC_URL without trailing slash
  store: Store;
  log: Logger;
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
  csrfSecret: string;
  /** The network's registration at this bank. */
  client: ClientMetadata;
  trustProxy: boolean;
}

export interface SandboxBank {
  issuer: string;
  provider: Provider;
  /** Login UI and, for oauth2 banks, the /me resource; mounted at the root. */
  router: Router;
}

/** Claim names asked for with the claims parameter (OIDC Core 5.5), both members. */
function requestedClaimNames(claims: unknown): string[] {
  if (typeof claims !== 'string') return [];
  try {
    const parsed = JSON.parse(claims) as Record<string, unknown>;
    return [...new Set(['id_token', 'userinfo'].flatMap((m) => (parsed[m] && typeof parsed[m] === 'object' ? Object.keys(parsed[m] as object) : [])))];
  } catch {
    return [];
  }
}

const alwaysLogin = () => {
  const policy = interactionPolicy.base();
  // A sandbox bank asks for the password every time, so testers can switch users.
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('sandbox_login', 'sandbox banks always ask for a login', (ctx: KoaContextWithOIDC) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );
  return policy;
};

export function createSandboxBank(o: SandboxBankOptions): SandboxBank {
  const { def, base, store } = o;
  const mount = `/sandbox/${def.slug}`;
  const issuer = `${base}${mount}`;
  const secure = base.startsWith('https:');
  const usersById = new Map(def.users.map((u) => [u.sub, u]));
  const resource = `${issuer}/me`;

  const configuration: Configuration = {
    adapter: adapterFactory(store, `sandbox:${def.slug}`),
    clients: [o.client],
    jwks: o.jwks as Configuration['jwks'],
    cookies: {
      keys: o.cookieKeys,
      names: { session: `_${def.slug}_session`, interaction: `_${def.slug}_interaction`, resume: `_${def.slug}_resume` },
      long: { signed: true, secure, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, secure, httpOnly: true, sameSite: 'lax' },
    },
    routes: { authorization: '/auth', token: '/token', userinfo: '/userinfo', jwks: '/jwks', pushed_authorization_request: '/par' },
    interactions: { policy: alwaysLogin(), url: (_ctx, i) => `${issuer}/interaction/${i.uid}` },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: def.kind === 'oidc' },
      claimsParameter: { enabled: def.kind === 'oidc' && def.claimsParameter !== false },
      pushedAuthorizationRequests: { enabled: def.kind === 'oidc', requirePushedAuthorizationRequests: def.kind === 'oidc' },
      ...(def.kind === 'oauth2'
        ? {
            resourceIndicators: {
              enabled: true,
              defaultResource: () => resource,
              useGrantedResource: () => true,
              getResourceServerInfo: () => ({ scope: 'identity', accessTokenFormat: 'opaque', accessTokenTTL: 600 }),
            },
          }
        : {}),
    },
    scopes: def.kind === 'oidc' ? ['openid', 'email', 'profile', 'address', 'phone'] : ['identity'],
    claims:
      def.kind === 'oidc'
        ? { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'name', 'birthdate'], address: ['address'], phone: ['phone_number'] }
        : { openid: ['sub'] },
    responseTypes: ['code'],
    enabledJWA: {
      idTokenSigningAlgValues: [def.alg],
      clientAuthSigningAlgValues: ['PS256', 'ES256'],
      requestObjectSigningAlgValues: ['PS256', 'ES256'],
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 1800, Session: 3600, Grant: 3600, PushedAuthorizationRequest: 60 },
    async findAccount(_ctx, sub) {
      const user = usersById.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => oidcClaims(user) as { sub: string } };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage({ title: `${def.name}: request refused`, error: String(out.error), description: out.error_description as string | undefined });
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = o.trustProxy;
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return verifySecret(actual, this.clientSecret ?? null);
  };
  provider.on('server_error', (_ctx, err) => o.log.error({ err, bank: def.slug }, 'sandbox bank server_error'));

  const router = new Router({ prefix: mount });
  const csrfFor = (uid: string) => hmac(o.csrfSecret, `${def.slug}:${uid}`);
  const csrfOk = (uid: string, t: string | undefined) => safeEqual(csrfFor(uid), t);

  const loginPage = (uid: string, error?: string, username = '') =>
    layout({
      title: `Sign in to ${def.name}`,
      brand: `${def.name} (sandbox)`,
      body: html`<section class="card">
  <div class="app-id"><img src="/static/banks/${def.slug}.svg" alt=""><h1>Sign in to ${def.name}</h1></div>
  <p class="muted">This is a sandbox bank: no real accounts, only the test users below.</p>
  ${error ? html`<p role="alert" id="login-error" class="error card">${error}</p>` : ''}
  <form method="post" action="${mount}/interaction/${uid}/login">
    <input type="hidden" name="csrf" value="${csrfFor(uid)}">
    <label for="username">Username</label>
    <input type="text" id="username" name="username" autocomplete="username" required value="${username}" autofocus${error ? html` aria-describedby="login-error" aria-invalid="true"` : ''}>
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required${error ? html` aria-describedby="login-error" aria-invalid="true"` : ''}>
    <div class="actions"><button class="primary" type="submit">Sign in</button></div>
  </form>
  <form method="post" action="${mount}/interaction/${uid}/cancel" class="actions">
    <input type="hidden" name="csrf" value="${csrfFor(uid)}">
    <button type="submit">Cancel</button>
  </form>
  <h2>Test users</h2>
  <table><thead><tr><th scope="col">Username</th><th scope="col">Password</th><th scope="col">Who</th></tr></thead><tbody>
  ${def.users.map((u) => html`<tr><td><code>${u.username}</code></td><td><code>${u.password}</code></td><td>${u.given_name} ${u.family_name}: ${u.note}</td></tr>`)}
  </tbody></table>
</section>`,
    });

  async function interaction(ctx: Context) {
    try {
      const d = await provider.interactionDetails(ctx.req, ctx.res);
      if (d.uid === ctx.params.uid) return d;
    } catch {
      /* fall through */
    }
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = errorPage({ title: `${def.name}: sign-in expired`, error: 'session_not_found' });
    return undefined;
  }

  router.get('/interaction/:uid', async (ctx) => {
    const d = await interaction(ctx);
    if (!d) return;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = loginPage(d.uid, undefined, typeof d.params.login_hint === 'string' ? d.params.login_hint : '');
  });

  router.post('/interaction/:uid/login', async (ctx) => {
    const d = await interaction(ctx);
    if (!d) return;
    const form = await readForm(ctx);
    if (!csrfOk(d.uid, form.csrf)) {
      ctx.status = 403;
      ctx.type = 'html';
      ctx.body = errorPage({ error: 'invalid_request', description: 'This form has expired. Start the sign-in again.' });
      return;
    }
    const user = def.users.find((u) => u.username === form.username && u.password === form.password);
    if (!user) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(d.uid, 'Wrong username or password.', form.username ?? '');
      return;
    }
    // The sandbox bank does not ask for consent itself: the network asks, naming the app and the claims.
    const grant = new provider.Grant({ accountId: user.sub, clientId: String(d.params.client_id) });
    grant.addOIDCScope(String(d.params.scope ?? ''));
    const claims = requestedClaimNames(d.params.claims);
    if (claims.length) grant.addOIDCClaims(claims);
    if (def.kind === 'oauth2') grant.addResourceScope(resource, 'identity');
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: user.sub }, consent: { grantId } });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  router.post('/interaction/:uid/cancel', async (ctx) => {
    const d = await interaction(ctx);
    if (!d) return;
    const form = await readForm(ctx);
    if (!csrfOk(d.uid, form.csrf)) {
      ctx.status = 403;
      ctx.type = 'html';
      ctx.body = errorPage({ error: 'invalid_request', description: 'This form has expired.' });
      return;
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { error: 'access_denied', error_description: 'The user cancelled the sign-in at the bank.' });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  if (def.kind === 'oauth2') {
    // Future Bank's own profile API: Bearer access token -> its own field names.
    router.get('/me', async (ctx) => {
      const auth = ctx.get('authorization');
      const token = /^Bearer (.+)$/i.exec(auth)?.[1];
      const at = token ? await provider.AccessToken.find(token) : undefined;
      if (!at || at.isExpired || !String(at.scope ?? '').split(' ').includes('identity')) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        ctx.body = { error: 'invalid_token' };
        return;
      }
      const user = usersById.get(at.accountId);
      if (!user) {
        ctx.status = 404;
        ctx.body = { error: 'not_found' };
        return;
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.body = futureBankProfile(user);
    });
  }

  return { issuer, provider, router };
}
