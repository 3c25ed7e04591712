/**
 * The network OpenID Provider, on oidc-provider v9, issuer `${PUBLIC_URL}/oidc`,
 * with IDPartner's endpoint paths. Protocol only: login (bank chooser, bank
 * connectors) and consent live in ./interactions, as in ory/hydra's split.
 */
import { createHmac } from 'node:crypto';
import Provider, { interactionPolicy, type Configuration, type KoaContextWithOIDC, type ClientMetadata, type AdapterPayload } from 'oidc-provider';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Application, Store } from '../store/store.js';
import { verifySecret } from '../store/store.js';
import { adapterFactory } from '../store/oidc-adapter.js';
import { SCOPES, SCOPE_CLAIMS } from './claims.js';
import { errorPage } from '../http/pages.js';
import { html, layout, raw } from '../http/html.js';

export const NETWORK_NAMESPACE = 'network';

/** IDPartner's authorization parameters, accepted and kept with the interaction. */
export const EXTRA_PARAMS = ['identity_provider_id', 'idpartner_token', 'visitor_id'];

/** Application record -> oidc-provider client metadata. */
export function clientMetadata(app: Application): AdapterPayload {
  const m: ClientMetadata = {
    ...(Object.fromEntries(Object.entries(app.extra).filter(([k]) => k !== 'auth0_callback_urls')) as Partial<ClientMetadata>),
    client_id: app.clientId,
    client_name: app.name,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: app.authMethod,
    subject_type: app.subjectType,
    kind: app.kind,
    ...(app.logoUri ? { logo_uri: app.logoUri } : {}),
    ...(app.originUrl ? { origin_url: app.originUrl } : {}),
    ...(app.jwks ? { jwks: app.jwks } : {}),
    ...(app.jwksUri ? { jwks_uri: app.jwksUri } : {}),
  };
  // Secrets are stored hashed: oidc-provider only ever sees the hash, and
  // compareClientSecret (below) hashes what the client presents.
  if (app.secretHash) m.client_secret = app.secretHash;
  return m as AdapterPayload;
}

export interface NetworkProviderOptions {
  config: Config;
  store: Store;
  log: Logger;
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
  pairwiseSalt: string;
}

export function createNetworkProvider({ config, store, log, jwks, cookieKeys, pairwiseSalt }: NetworkProviderOptions): Provider {
  const base = config.publicUrl.href.replace(/\/+$/, '');
  const secure = config.publicUrl.protocol === 'https:';

  const policy = interactionPolicy.base();
  // Every authorization request signs in at the bank again: the claims an app
  // receives are always the bank's, verified at this login (age_over_* included).
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('bank_login_required', 'a bank login is required for each authorization', (ctx: KoaContextWithOIDC) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );

  const configuration: Configuration = {
    adapter: adapterFactory(store, NETWORK_NAMESPACE, async (clientId) => {
      const app = await store.getApplication(clientId);
      return app ? clientMetadata(app) : undefined;
    }),
    jwks: jwks as Configuration['jwks'],
    cookies: {
      keys: cookieKeys,
      names: { session: '_tl_session', interaction: '_tl_interaction', resume: '_tl_resume' },
      long: { signed: true, secure, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, secure, httpOnly: true, sameSite: 'lax' },
    },
    routes: {
      authorization: '/auth',
      token: '/token',
      userinfo: '/me',
      jwks: '/jwks',
      pushed_authorization_request: '/request',
      introspection: '/token/introspection',
      revocation: '/token/revocation',
      end_session: '/session/end',
    },
    scopes: SCOPES,
    claims: { openid: ['sub'], ...Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([k, v]) => [k, [...v]])) },
    // IDPartner releases the granted identity claims in the ID token itself.
    conformIdTokenClaims: false,
    extraParams: EXTRA_PARAMS,
    extraClientMetadata: {
      properties: ['origin_url', 'kind'],
      validator(_ctx, key, value) {
        if (key === 'kind' && value !== undefined && value !== 'sandbox' && value !== 'production') {
          throw new Error('kind must be sandbox or production');
        }
      },
    },
    responseTypes: ['code'],
    subjectTypes: ['public', 'pairwise'],
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'RS256', token_endpoint_auth_method: 'client_secret_basic' },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'PS256'],
      userinfoSigningAlgValues: ['RS256', 'PS256'],
      authorizationSigningAlgValues: ['RS256', 'PS256'],
      introspectionSigningAlgValues: ['RS256', 'PS256'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    // RFC 7636 / OAuth 2.1: PKCE (S256 only) is required for public clients, accepted from all.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      jwtResponseModes: { enabled: true },
      requestObjects: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = layout({
            title: 'Sign out',
            body: html`<section class="card"><h1>Sign out of TrustLane?</h1>${raw(form)}
<div class="actions"><button class="primary" autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></div></section>`,
          });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = layout({ title: 'Signed out', body: html`<section class="card"><h1>You are signed out</h1><p>You can close this window.</p></section>` });
        },
      },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      PushedAuthorizationRequest: 60,
      RefreshToken: 14 * 24 * 3600,
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `${base}/interaction/${interaction.uid}`,
    },
    async findAccount(_ctx, sub) {
      const account = await store.getAccount(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        // oidc-provider filters these by the granted scopes and claims.
        async claims() {
          return { sub, ...account.claims };
        },
      };
    },
    async pairwiseIdentifier(_ctx, accountId, client) {
      return createHmac('sha256', pairwiseSalt).update(`${client.sectorIdentifier}\n${accountId}`).digest('base64url');
    },
    async renderError(ctx, out, error) {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      if (status >= 500) log.error({ err: error }, 'network OP error');
      ctx.type = 'html';
      ctx.body = errorPage({ error: String(out.error), description: status >= 500 ? undefined : (out.error_description as string | undefined) });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;

  // Client secrets are stored as SHA-256 hashes (they are 256-bit random, so a
  // fast hash is sufficient): compare by hashing what the client presented.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return verifySecret(actual, this.clientSecret ?? null);
  };

  provider.on('server_error', (_ctx, err) => log.error({ err }, 'network OP server_error'));
  provider.on('authorization.error', (_ctx, err) => log.info({ error: (err as any).error, description: (err as any).error_description }, 'authorization error returned to app'));
  return provider;
}

