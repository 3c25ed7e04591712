/**
 * Assembles one TrustLane node: the network OP (/oidc), its login and consent
 * UI (/interaction, /banks/callback), the sandbox banks (/sandbox/<slug>), the
 * demo app (/demo), health, readiness and metrics. Stateless: everything it
 * remembers is in the store, so N nodes behind a load balancer act as one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './config/config.js';
import type { Logger } from './log.js';
import { Store } from './store/store.js';
import { cookieKeys, ensureKeys, keySetVersion, sharedSecret, toProviderJwks } from './keys/keys.js';
import { createNetworkProvider } from './network/provider.js';
import { interactionRoutes } from './network/interactions/routes.js';
import { createSandboxBank } from './sandbox-banks/sandbox-bank.js';
import { SANDBOX_BANKS, networkClientAt, provisionSandboxBanks } from './sandbox-banks/index.js';
import { errorPage } from './http/pages.js';
import { BodyError } from './http/body.js';
import { serveStatic } from './http/static.js';
import { registry, httpRequests } from './http/metrics.js';
import { demoRoutes, provisionDemo } from './demo/demo.js';
import { consoleMiddleware } from './console/index.js';
import { auth0ProxyRoutes, auth0ScriptRoute } from './auth0-proxy/proxy.js';
import { ConsoleRepository } from './console/repository.js';
import { createMailer, type Mailer } from './console/mailer.js';

export interface RunningServer {
  url: string;
  store: Store;
  server: http.Server;
  /** Re-reads signing keys now (the periodic check does this every KEYS_REFRESH_SECONDS). */
  reloadKeys(): Promise<boolean>;
  close(): Promise<void>;
}

const NETWORK_KEY_OWNER = 'network';
import { NETWORK_KEY_ALG } from './keys/keys.js';


const CSP = "default-src 'self'; img-src 'self' https: http://localhost:* http://127.0.0.1:* data:; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

function securityHeaders(): Middleware {
  return async (ctx, next) => {
    // The policy is set before the handlers run, not after: oidc-provider adds
    // the hash of any inline script it renders (the auto-submitting form the
    // sandbox banks' providers answer with when another user signs in on the
    // same browser) to the policy it finds; overwriting it afterwards blocked
    // that script and left the browser on a blank page.
    const withCsp = !ctx.path.startsWith('/oidc/');
    if (withCsp) ctx.set('Content-Security-Policy', CSP);
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (withCsp && ctx.response.is('html')) ctx.set('X-Frame-Options', 'DENY');
    else ctx.remove('Content-Security-Policy');
  };
}

function errorBoundary(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && !ctx.body) {
        ctx.status = 404;
        ctx.type = 'html';
        ctx.body = errorPage({ title: 'Not found', error: 'not_found' });
      }
    } catch (err) {
      if (err instanceof BodyError) {
        ctx.status = err.status;
        ctx.type = 'html';
        ctx.body = errorPage({ title: 'Request refused', error: 'invalid_request', description: err.message });
        return;
      }
      log.error({ err, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.type = 'html';
      ctx.body = errorPage({ title: 'Something went wrong', error: 'server_error' });
    } finally {
      const group = ctx.path.split('/')[1] || 'root';
      httpRequests.inc({ group: ['oidc', 'interaction', 'banks', 'sandbox', 'demo', 'static', 'console'].includes(group) ? group : 'other', status: `${Math.floor(ctx.status / 100)}xx` });
    }
  };
}

export async function startServer(config: Config, log: Logger, options: { store?: Store; mailer?: Mailer } = {}): Promise<RunningServer> {
  const store = options.store ?? (await Store.open({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath, redisUrl: config.redisUrl }));
  let handler: http.RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  const server = http.createServer((req, res) => handler(req, res));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // With PORT=0 (tests), the public URL follows the port actually bound.
  if (config.port === 0) {
    const u = new URL(config.publicUrl.href);
    u.port = String(port);
    config = { ...config, publicUrl: u, issuer: `${u.href.replace(/\/+$/, '')}/oidc` };
  }
  const base = config.publicUrl.href.replace(/\/+$/, '');

  const csrfSecret = await sharedSecret(store, 'csrf');
  // One cookie key set for the node: mounted providers sign cookies with the
  // parent app's keys (koa-mount shares the context), so all must agree.
  const nodeCookieKeys = await cookieKeys(store, 'node');
  const pairwiseSalt = await sharedSecret(store, 'pairwise');

  // --- network OP (rebuilt when its signing keys change: a provider's keystore is fixed at construction)
  let networkKeysVersion = '';
  let network!: Provider;
  let networkMount: Middleware = async (_ctx, next) => next();
  async function buildNetwork(): Promise<boolean> {
    const keys = await ensureKeys(store, NETWORK_KEY_OWNER, NETWORK_KEY_ALG);
    const version = keySetVersion(keys);
    if (version === networkKeysVersion) return false;
    network = createNetworkProvider({ config, store, log, jwks: toProviderJwks(keys), cookieKeys: nodeCookieKeys, pairwiseSalt });
    networkMount = mount('/oidc', network);
    networkKeysVersion = version;
    return true;
  }
  await buildNetwork();

  const app = new Koa();
  app.keys = nodeCookieKeys;
  app.proxy = config.trustProxy;
  app.use(errorBoundary(log));
  app.use(securityHeaders());
  app.use(serveStatic());

  const ops = new Router();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    try {
      await store.ping();
      ctx.body = { status: 'ready', store: store.engine };
    } catch (err) {
      log.warn({ err }, 'readiness check failed');
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.engine };
    }
  });
  ops.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  ops.get('/', (ctx) => ctx.redirect(config.seedDemo ? '/demo' : '/console'));
  app.use(ops.routes());

  app.use((ctx, next) => networkMount(ctx, next));
  const interactions = interactionRoutes({ config, store, log, provider: () => network, csrfSecret });
  app.use(interactions.routes()).use(interactions.allowedMethods());

  if (config.sandboxBanks) {
    await provisionSandboxBanks(store, base);
    for (const def of SANDBOX_BANKS) {
      const keys = await ensureKeys(store, `sandbox:${def.slug}`, def.alg);
      const bank = createSandboxBank({
        def,
        base,
        store,
        log,
        jwks: toProviderJwks(keys),
        cookieKeys: nodeCookieKeys,
        csrfSecret,
        client: await networkClientAt(store, def, base),
        trustProxy: config.trustProxy,
      });
      app.use(bank.router.routes());
      app.use(mount(`/sandbox/${def.slug}`, bank.provider));
    }
  }

  const proxy = auth0ProxyRoutes({ config, store, log });
  app.use(proxy.routes()).use(proxy.allowedMethods());
  app.use(auth0ScriptRoute(base).routes());

  const consoleRepo = new ConsoleRepository(store.db);
  const mailer = options.mailer ?? createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: config.outboxDir, log, printLinks: config.logLevel !== 'silent' });
  for (const mw of consoleMiddleware({ config, store, repo: consoleRepo, mailer, log, csrfSecret, base })) app.use(mw);

  if (config.seedDemo) {
    const demo = await provisionDemo(store, base);
    const routes = demoRoutes({ config, log, demo, cookieSecret: csrfSecret });
    app.use(routes.routes());
  }

  handler = app.callback();

  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setInterval(() => {
      Promise.all([store.sweepExpired(), consoleRepo.sweep()]).then(
        ([n]) => n && log.debug({ removed: n }, 'swept expired records'),
        (err) => log.warn({ err }, 'sweep failed'),
      );
    }, config.sweepIntervalSeconds * 1000),
  );
  timers.push(
    setInterval(() => {
      buildNetwork().then(
        (changed) => changed && log.info('network signing keys changed: reloaded'),
        (err) => log.warn({ err }, 'key reload failed'),
      );
    }, config.keysRefreshSeconds * 1000),
  );
  for (const t of timers) t.unref();

  return {
    url: base,
    store,
    server,
    reloadKeys: buildNetwork,
    async close() {
      for (const t of timers) clearInterval(t);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!options.store) await store.close();
    },
  };
}
