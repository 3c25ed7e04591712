/**
 * Starts a real TrustLane node for a test: real HTTP on 127.0.0.1 (random
 * port), the real store (SQLite in a temp dir, or PostgreSQL in a fresh schema
 * when DATABASE_URL is set), the real sandbox banks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { Store, type NewApplication } from '../../src/store/store.js';
import { Agent, formOf, type PageResult } from './agent.js';
import assert from 'node:assert/strict';

export interface TestStoreHandle {
  store: Store;
  cleanup(this: TestStoreHandle): Promise<void>;
  /** to reopen the same data (restart tests) */
  reopen(): Promise<Store>;
}

export async function openTestStore(): Promise<TestStoreHandle> {
  const databaseUrl = process.env.DATABASE_URL;
  // With REDIS_URL, short-lived artifacts go to Redis under a prefix of this test's own.
  const redisUrl = process.env.REDIS_URL;
  const redisPrefix = `tl:t_${randomBytes(6).toString('hex')}:`;
  const redis = redisUrl ? { redisUrl, redisPrefix } : {};
  const clearRedis = async (store: Store) => {
    await store.redis?.clear().catch(() => {});
  };
  if (databaseUrl) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const store = await Store.open({ databaseUrl, pgSchema: schema, ...redis });
    return {
      store,
      reopen: () => Store.open({ databaseUrl, pgSchema: schema, ...redis }),
      async cleanup(this: TestStoreHandle) {
        await clearRedis(this.store);
        await this.store.close().catch(() => {});
        const pg = (await import('pg')).default;
        const c = new pg.Client({ connectionString: databaseUrl });
        await c.connect();
        await c.query(`drop schema if exists ${schema} cascade`);
        await c.end();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trustlane-test-'));
  const sqlitePath = path.join(dir, 'test.sqlite');
  const store = await Store.open({ sqlitePath, ...redis });
  return {
    store,
    reopen: () => Store.open({ sqlitePath, ...redis }),
    async cleanup(this: TestStoreHandle) {
      await clearRedis(this.store);
      await this.store.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestNetwork {
  url: string;
  issuer: string;
  running: RunningServer;
  store: Store;
  close(): Promise<void>;
}

export async function startTestNetwork(store: Store, env: Record<string, string> = {}): Promise<TestNetwork> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', PUBLIC_URL: 'http://127.0.0.1:0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', BANK_TIMEOUT_MS: '1500', ...env });
  const running = await startServer(config, createLogger(config.logLevel), { store });
  return { url: running.url, issuer: `${running.url}/oidc`, running, store, close: () => running.close() };
}

export const APP_REDIRECT = 'http://127.0.0.1:1/app/callback';

export interface TestApp {
  clientId: string;
  clientSecret: string;
  config: client.Configuration;
}

export async function createTestApp(net: TestNetwork, overrides: Partial<NewApplication> = {}): Promise<TestApp> {
  const { application, clientSecret } = await net.store.createApplication({
    name: 'Test App',
    redirectUris: [APP_REDIRECT],
    authMethod: 'client_secret_basic',
    kind: 'sandbox',
    ...overrides,
  });
  const config = await client.discovery(new URL(net.issuer), application.clientId, clientSecret ?? undefined, clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: 5,
  });
  return { clientId: application.clientId, clientSecret: clientSecret ?? '', config };
}

export interface AuthRequest {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

export async function authorizationRequest(app: TestApp, params: Record<string, string> = {}): Promise<AuthRequest> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(app.config, {
    redirect_uri: APP_REDIRECT,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { url: url.href, state, nonce, verifier };
}

/** Submits the first form on `page` whose action contains `action`, with extra fields. */
export async function submit(agent: Agent, page: PageResult, action: string, fields: Record<string, string>, stopAt = APP_REDIRECT): Promise<PageResult> {
  const form = formOf(page.body, action);
  return agent.go(new URL(form.action, page.url).href, { form: { ...form.fields, ...fields } }, stopAt);
}

/** Chooser -> bank login -> consent; returns the app's callback URL. */
export async function loginThroughBank(
  agent: Agent,
  req: AuthRequest,
  opts: { bank?: string; username: string; password?: string; decision?: 'allow' | 'deny'; skipChooser?: boolean },
): Promise<PageResult> {
  let page = await agent.go(req.url, {}, APP_REDIRECT);
  if (!opts.skipChooser) {
    assert.match(page.body, /<h1>Choose your bank<\/h1>/, `expected the chooser, got ${page.status} ${page.url}`);
    page = await submit(agent, page, '/bank', { bank: opts.bank ?? 'mikomo' });
  }
  assert.match(page.body, /<label for="username">Username<\/label>/, `expected a bank login page, got ${page.status} ${page.url}\n${page.body.slice(0, 500)}`);
  page = await submit(agent, page, '/login', { username: opts.username, password: opts.password ?? opts.username });
  if (page.url.startsWith(APP_REDIRECT)) return page;
  assert.match(page.body, /name="decision" value="allow"/, `expected the consent page, got ${page.status} ${page.url}\n${page.body.slice(0, 800)}`);
  return submit(agent, page, '/consent', { decision: opts.decision ?? 'allow' });
}

export function callbackParams(page: PageResult): URLSearchParams {
  assert.ok(page.url.startsWith(APP_REDIRECT), `expected a redirect to the app, got ${page.url}`);
  return new URL(page.url).searchParams;
}
