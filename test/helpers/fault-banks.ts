/**
 * Misbehaving banks for the fault tests, all real HTTP servers on 127.0.0.1:
 * one that is down, one that hangs, one that answers 503, and a real OIDC bank
 * (oidc-provider, the sandbox bank code) whose answers are tampered with.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Koa from 'koa';
import mount from 'koa-mount';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/log.js';
import { createSandboxBank } from '../../src/sandbox-banks/sandbox-bank.js';
import { MIKOMO_USERS } from '../../src/sandbox-banks/test-users.js';
import { generateSigningJwk, publicJwk, ensureKeys, toProviderJwks } from '../../src/keys/keys.js';
import type { Bank, Store } from '../../src/store/store.js';
import type { TestNetwork } from './network.js';

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: http.Server, sockets: Set<Socket>) {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** Accepts connections and never answers. */
export async function startHangingServer(): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server = http.createServer(() => {
    /* never respond */
  });
  server.on('connection', (s) => sockets.add(s));
  return { url: await listen(server), close: closer(server, sockets) };
}

/** Answers 503 to everything. */
export async function startFailingServer(status = 503): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: 'temporarily_unavailable' }));
  });
  server.on('connection', (s) => sockets.add(s));
  return { url: await listen(server), close: closer(server, sockets) };
}

/** A URL where nothing listens (a server started then stopped). */
export async function deadUrl(): Promise<string> {
  const s = await startFailingServer();
  await s.close();
  return s.url;
}

export async function registerBank(store: Store, overrides: Partial<Bank> & { slug: string }): Promise<Bank> {
  return store.createBank({
    name: overrides.slug,
    logoUrl: null,
    countries: ['US'],
    kind: 'oidc',
    issuer: null,
    authorizationUrl: null,
    tokenUrl: null,
    userinfoUrl: null,
    clientId: 'trustlane-network',
    authMethod: 'client_secret_basic',
    credentials: { client_secret: 'x'.repeat(32) },
    scope: 'openid email profile',
    claimMapping: {},
    pkce: true,
    visible: true,
    sandbox: true,
    timeoutMs: 500,
    ...overrides,
  });
}

export type Tamper = 'none' | 'id_token_signature' | 'issuer' | 'state';

/** A real OIDC bank (the sandbox bank code) whose responses are altered per `tamper`. */
export async function startTamperingBank(net: TestNetwork, tamper: Tamper, opts: { claimsParameter?: boolean; onRequest?: (path: string) => void } = {}): Promise<FakeServer & { bank: Bank }> {
  const slug = `evil${randomBytes(3).toString('hex')}`;
  const sockets = new Set<Socket>();
  let handler: http.RequestListener = () => {};
  const server = http.createServer((req, res) => handler(req, res));
  server.on('connection', (s) => sockets.add(s));
  const base = await listen(server);
  const privateJwk = await generateSigningJwk('PS256');
  const keys = await ensureKeys(net.store, `test:${slug}`, 'PS256');
  const cookieKeys = [randomBytes(16).toString('hex')];
  const bankSide = createSandboxBank({
    def: { slug, name: 'Evil Bank', kind: 'oidc', users: MIKOMO_USERS, alg: 'PS256', ...(opts.claimsParameter === false ? { claimsParameter: false } : {}) },
    base,
    store: net.store,
    log: createLogger('silent'),
    jwks: toProviderJwks(keys),
    cookieKeys,
    csrfSecret: 'test',
    client: {
      client_id: 'trustlane-network',
      redirect_uris: [`${net.url}/banks/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'PS256',
      id_token_signed_response_alg: 'PS256',
      jwks: { keys: [{ ...publicJwk(privateJwk), alg: 'PS256', use: 'sig' }] },
    },
    trustProxy: false,
  });
  const app = new Koa();
  app.keys = cookieKeys;
  app.use(async (ctx, next) => {
    opts.onRequest?.(ctx.path);
    await next();
    if (tamper === 'id_token_signature' && ctx.path.endsWith('/token') && ctx.body && typeof (ctx.body as any).id_token === 'string') {
      const body = ctx.body as Record<string, string>;
      const [h, p, s] = body.id_token!.split('.');
      body.id_token = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    }
    const loc = ctx.response.get('location');
    if (loc && loc.startsWith(`${net.url}/banks/callback`)) {
      const u = new URL(loc);
      if (tamper === 'issuer') u.searchParams.set('iss', 'https://evil.example');
      if (tamper === 'state') u.searchParams.set('state', randomBytes(16).toString('base64url'));
      ctx.set('location', u.href);
    }
  });
  app.use(bankSide.router.routes());
  app.use(mount(`/sandbox/${slug}`, bankSide.provider));
  handler = app.callback();
  const bank = await registerBank(net.store, {
    slug,
    name: 'Evil Bank',
    issuer: bankSide.issuer,
    authMethod: 'private_key_jwt',
    credentials: { private_jwk: privateJwk as Record<string, unknown> },
    timeoutMs: 3000,
  });
  return { url: base, bank, close: closer(server, sockets) };
}
