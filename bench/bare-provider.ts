/**
 * The baseline: a bare oidc-provider v9 on 127.0.0.1 with one static client and
 * one user, no broker and no bank. Its interaction route logs the user in and
 * grants consent in one POST, so a login is the cheapest equivalent of one:
 *   GET /auth -> GET /interaction/:uid (login form) -> POST login -> GET /auth/:uid
 *   -> code at the redirect_uri -> POST /token -> GET /me
 * Same signing algorithm for ID tokens (RS256, 2048-bit key) and the same
 * client authentication (client_secret_basic) as the network OP.
 * Storage: oidc-provider's in-memory adapter by default; BENCH_BARE_STORE=sqlite
 * puts it on TrustLane's own store adapter (SQLite in a temp dir) instead, to
 * separate the cost of the database from the cost of the extra hops.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Provider, { type Configuration } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

export const BARE_USER = {
  username: 'alice',
  password: 'alice-password',
  sub: 'bare-user-1',
  email: 'alice@bare.example',
  email_verified: true,
  given_name: 'Alice',
  family_name: 'Bare',
  name: 'Alice Bare',
  birthdate: '1980-01-01',
};

export interface BareProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  server: http.Server;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req: http.IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

export async function startBareProvider(opts: { redirectUri: string; adapter?: Configuration['adapter'] }): Promise<BareProvider> {
  const clientId = 'bare-client';
  const clientSecret = randomBytes(32).toString('base64url');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bare-1', use: 'sig', alg: 'RS256' };

  const server = http.createServer();
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration: Configuration = {
    ...(opts.adapter ? { adapter: opts.adapter } : {}),
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [jwk] } as Configuration['jwks'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: { authorization: '/auth', token: '/token', userinfo: '/me', jwks: '/jwks' },
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'name', 'birthdate'] },
    conformIdTokenClaims: false, // as the network OP: granted claims in the ID token too
    responseTypes: ['code'],
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 14 * 24 * 3600, Grant: 14 * 24 * 3600 },
    features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      if (sub !== BARE_USER.sub) return undefined;
      const { username: _u, password: _p, ...claims } = BARE_USER;
      return { accountId: sub, claims: async () => claims };
    },
  };
  // The in-memory adapter warns on construction: that is the point here.
  const warn = console.warn;
  console.warn = () => {};
  const provider = new Provider(issuer, configuration);
  console.warn = warn;
  const oidc = provider.callback();

  const loginPage = (uid: string) =>
    `<!doctype html><html><head><title>Sign in</title></head><body><form method="post" action="/interaction/${escapeHtml(uid)}/login">` +
    `<label for="username">Username</label><input id="username" name="username"><label for="password">Password</label><input id="password" name="password" type="password">` +
    `<button type="submit">Sign in</button></form></body></html>`;

  async function interaction(req: http.IncomingMessage, res: http.ServerResponse, uid: string, action: string | undefined) {
    const d = await provider.interactionDetails(req, res);
    if (d.uid !== uid) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('session_not_found');
      return;
    }
    if (req.method === 'GET' && !action) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(loginPage(d.uid));
      return;
    }
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      if (form.username !== BARE_USER.username || form.password !== BARE_USER.password) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(d.uid));
        return;
      }
      // Login and consent in one step: the grant covers every requested scope.
      const grant = new provider.Grant({ accountId: BARE_USER.sub, clientId: String(d.params.client_id) });
      grant.addOIDCScope(String(d.params.scope ?? 'openid'));
      const grantId = await grant.save();
      const returnTo = await provider.interactionResult(req, res, { login: { accountId: BARE_USER.sub }, consent: { grantId } });
      res.writeHead(303, { location: returnTo }).end();
      return;
    }
    res.writeHead(404).end();
  }

  server.on('request', (req, res) => {
    const m = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?(?:\?.*)?$/.exec(req.url ?? '');
    if (!m) return oidc(req, res);
    interaction(req, res, m[1]!, m[2]).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${err.message}`);
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    redirectUri: opts.redirectUri,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
