/**
 * An Auth0 emulator for the project's own tests: a tenant with one custom
 * social connection (strategy "oauth2"), behaving as described in
 * ../shared/reference/auth0-oauth2-connection.md:
 *   - the authorization request carries response_type=code, client_id,
 *     redirect_uri=<emu>/login/callback, scope (options.scope, plus the app's
 *     `connection_scope` joined with ',' unless useOauthSpecScope), Auth0's own
 *     state, options.authParams; no nonce; PKCE (S256) only with pkce_enabled;
 *   - the token request is a form POST with client_id and client_secret in the
 *     body, options.customHeaders merged into the headers (a Basic custom header
 *     therefore means Basic + body), code_verifier when PKCE is on;
 *   - options.scripts.fetchUserProfile runs in node:vm with `request` (the real
 *     request@2 package) as a global, called with (access_token, ctx = the token
 *     response, callback), with a timeout and a single-callback check;
 *   - the user is `oauth2|<connection>|<profile.user_id>`, created or updated
 *     per options.set_user_root_attributes.
 * Loopback only: it listens on 127.0.0.1 and only calls 127.0.0.1/localhost.
 */
import http from 'node:http';
import vm from 'node:vm';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const requireCjs = createRequire(import.meta.url);
type RequestModule = typeof import('request');
const realRequest = requireCjs('request') as RequestModule;

export type SetUserRootAttributes = 'on_each_login' | 'on_first_login' | 'never_on_login';

export interface Auth0ConnectionOptions {
  authorizationURL: string;
  tokenURL: string;
  scope?: string | string[];
  client_id: string;
  client_secret: string;
  scripts: { fetchUserProfile: string; getLogoutUrl?: string };
  customHeaders?: Record<string, string>;
  pkce_enabled?: boolean;
  useOauthSpecScope?: boolean;
  set_user_root_attributes?: SetUserRootAttributes;
  authParams?: Record<string, string>;
}

/** A connection in the Management API shape (what a PATCH to a real tenant would take). */
export interface Auth0Connection {
  name: string;
  strategy: 'oauth2';
  options: Auth0ConnectionOptions;
}

export interface Auth0Identity {
  provider: 'oauth2';
  connection: string;
  user_id: string;
  isSocial: true;
  access_token: string;
  refresh_token?: string;
}

export interface Auth0User {
  user_id: string;
  identities: Auth0Identity[];
  created_at: string;
  updated_at: string;
  last_login: string;
  logins_count: number;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  [attribute: string]: unknown;
}

export type LoginStage = 'state' | 'callback' | 'token' | 'script' | 'profile';

export type LoginResult =
  | { id: string; ok: true; appState: string | null; auth0State: string; user: Auth0User }
  | { id: string; ok: false; appState: string | null; auth0State: string | null; stage: LoginStage; error: string; error_description?: string; status?: number };

export interface TokenRequestRecord {
  url: string;
  headers: Record<string, string>;
  body: Record<string, string>;
  status?: number;
  response?: unknown;
}

export interface Auth0Emulator {
  url: string;
  /** Auth0's redirect_uri toward the connection: <emu>/login/callback */
  callbackUrl: string;
  connection: Auth0Connection;
  /** Auth0 users by user_id (oauth2|<connection>|<id>). */
  users: Map<string, Auth0User>;
  /** Every finished login, in order. */
  results: LoginResult[];
  readonly lastResult: LoginResult | undefined;
  /** The authorization URLs sent to the connection, in order. */
  authorizeRedirects: string[];
  /** The token requests sent to tokenURL, in order (as sent). */
  tokenRequests: TokenRequestRecord[];
  /** What the script wrote with console.* (Auth0's real-time logs). */
  scriptLogs: string[];
  /** Script misbehaviour seen after a login finished (e.g. a late second callback). */
  scriptErrors: string[];
  close(): Promise<void>;
}

export interface EmulatorOptions {
  /** The connection name the app passes as ?connection= (defaults to connection.name). */
  connectionName?: string;
  connection: Auth0Connection;
  /** fetchUserProfile timeout, ms (Auth0's sandbox gives scripts about 20 s; default 10 s here). */
  scriptTimeoutMs?: number;
  /** outbound token request timeout, ms */
  httpTimeoutMs?: number;
}

const TX_TTL_MS = 10 * 60 * 1000;
const ROOT_ATTRIBUTES = ['name', 'given_name', 'family_name', 'nickname', 'picture'] as const;
const COOKIE = 'auth0_emu_tx';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
function assertLoopback(raw: string, what: string): URL {
  const u = new URL(raw);
  if (!LOOPBACK.has(u.hostname)) throw new Error(`the Auth0 emulator only calls loopback addresses; ${what} is ${u.href}`);
  return u;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Reads the emulator's result page (what a browser test would read). */
export function auth0ResultOf(htmlText: string): { user?: Auth0User; error?: { stage: LoginStage; error: string; error_description?: string; status?: number } } {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  const user = /<pre id="auth0-user">([\s\S]*?)<\/pre>/.exec(htmlText)?.[1];
  const error = /<pre id="auth0-error">([\s\S]*?)<\/pre>/.exec(htmlText)?.[1];
  return { ...(user ? { user: JSON.parse(unescape(user)) } : {}), ...(error ? { error: JSON.parse(unescape(error)) } : {}) };
}

/**
 * The `request` global of Auth0's sandbox: the real request@2 package, with a
 * default timeout and a refusal of any non-loopback destination (tests stay on
 * 127.0.0.1).
 */
function loopbackRequest(): RequestModule {
  const base = realRequest.defaults({ timeout: 10_000 });
  const refused = (uri: unknown, options: unknown, callback: unknown): boolean => {
    const params = (realRequest as unknown as { initParams(u: unknown, o: unknown, c: unknown): Record<string, unknown> }).initParams(uri, options, callback);
    const target = params.uri ?? params.url;
    const href = typeof target === 'string' ? target : target instanceof URL ? target.href : (target as { href?: string } | undefined)?.href;
    let host: string | undefined;
    try {
      host = new URL(String(params.baseUrl ?? '') + (href ?? '')).hostname;
    } catch {
      return false; // let request report its own error
    }
    if (LOOPBACK.has(host)) return false;
    const cb = params.callback as ((err: Error) => void) | undefined;
    if (cb) setImmediate(() => cb(new Error(`the Auth0 emulator refuses a request to ${host} (loopback only)`)));
    return true;
  };
  const wrapped = function (this: unknown, uri: unknown, options?: unknown, callback?: unknown) {
    if (refused(uri, options, callback)) return undefined;
    return (base as unknown as (...a: unknown[]) => unknown)(uri, options, callback);
  } as unknown as Record<string, unknown>;
  for (const verb of ['get', 'head', 'options', 'post', 'put', 'patch', 'del', 'delete']) {
    wrapped[verb] = (uri: unknown, options?: unknown, callback?: unknown) => {
      if (refused(uri, options, callback)) return undefined;
      return (base as unknown as Record<string, (...a: unknown[]) => unknown>)[verb]!(uri, options, callback);
    };
  }
  wrapped.jar = realRequest.jar;
  wrapped.cookie = realRequest.cookie;
  return wrapped as unknown as RequestModule;
}

/** Minimal stand-ins for the JWT modules Auth0 lets scripts require (decode only). */
function decodeJwtPayload(token: unknown, header = false): Record<string, unknown> {
  if (typeof token !== 'string') throw new Error('Invalid token specified: must be a string');
  const part = token.split('.')[header ? 0 : 1];
  if (!part) throw new Error('Invalid token specified: missing part');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}
const jwtDecodeModule = Object.assign((token: unknown, opts?: { header?: boolean }) => decodeJwtPayload(token, opts?.header === true), {
  jwtDecode: (token: unknown, opts?: { header?: boolean }) => decodeJwtPayload(token, opts?.header === true),
});
const jsonwebtokenModule = {
  decode(token: unknown, opts?: { complete?: boolean }) {
    try {
      const payload = decodeJwtPayload(token);
      return opts?.complete ? { header: decodeJwtPayload(token, true), payload, signature: String(token).split('.')[2] } : payload;
    } catch {
      return null;
    }
  },
  verify() {
    throw new Error('jsonwebtoken.verify is not available in the Auth0 emulator');
  },
};

/** Runs the connection's fetchUserProfile script the way Auth0's sandbox does. */
async function runProfileScript(
  script: string,
  accessToken: string,
  tokenResponse: Record<string, unknown>,
  opts: { timeoutMs: number; logs: string[]; lateErrors: string[] },
): Promise<Record<string, unknown>> {
  const requestGlobal = loopbackRequest();
  const allowed: Record<string, unknown> = {
    request: requestGlobal,
    'jwt-decode': jwtDecodeModule,
    jsonwebtoken: jsonwebtokenModule,
    crypto: requireCjs('node:crypto'),
    querystring: requireCjs('node:querystring'),
    url: requireCjs('node:url'),
    util: requireCjs('node:util'),
  };
  const sandboxRequire = (spec: string) => {
    // Auth0 accepts pinned versions: require('jsonwebtoken@7.1.9')
    const name = /^(@?[^@]+)(?:@[^@]+)?$/.exec(String(spec))?.[1] ?? String(spec);
    if (!(name in allowed)) throw new Error(`Cannot find module '${spec}' (not on the emulator's allow-list)`);
    return allowed[name];
  };
  const log =
    (level: string) =>
    (...args: unknown[]) =>
      opts.logs.push(`${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  const context = vm.createContext({
    request: requestGlobal,
    require: sandboxRequire,
    console: { log: log('log'), info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
    Buffer,
    setTimeout,
    clearTimeout,
    setImmediate,
    clearImmediate,
  });

  return new Promise<Record<string, unknown>>((resolve, reject) => {
    let calls = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`Script execution did not complete within ${opts.timeoutMs} ms`))), opts.timeoutMs);
    const callback = (err: unknown, profile?: unknown) => {
      calls++;
      if (calls > 1) {
        const message = 'The fetchUserProfile callback was called more than once';
        if (settled) opts.lateErrors.push(message);
        settle(() => reject(new Error(message)));
        return;
      }
      // Settle on the next turn so that a second, synchronous callback call is caught as an error.
      setImmediate(() =>
        settle(() => {
          if (err) {
            const message = typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : String(err);
            reject(new Error(message));
          } else if (!profile || typeof profile !== 'object') reject(new Error('The fetchUserProfile script returned no profile'));
          else resolve(JSON.parse(JSON.stringify(profile)) as Record<string, unknown>);
        }),
      );
    };
    try {
      const fn = new vm.Script(`(${script}\n)`, { filename: 'fetchUserProfile.js' }).runInContext(context, { timeout: 1000 });
      if (typeof fn !== 'function') throw new Error('The fetchUserProfile script is not a function');
      context.__fn = fn;
      // The token response is rebuilt inside the sandbox's realm, like data Auth0 passes in.
      context.__ctx = vm.runInContext(`JSON.parse(${JSON.stringify(JSON.stringify(tokenResponse))})`, context);
      context.__accessToken = accessToken;
      context.__callback = callback;
      new vm.Script('__fn(__accessToken, __ctx, __callback)', { filename: 'auth0-sandbox.js' }).runInContext(context, { timeout: opts.timeoutMs });
    } catch (err) {
      settle(() => reject(err instanceof Error ? err : new Error(String(err))));
    }
  });
}

interface Transaction {
  id: string;
  appState: string | null;
  connectionScope: string | null;
  verifier: string | null;
  expires: number;
}

export async function startAuth0Emulator(opts: EmulatorOptions): Promise<Auth0Emulator> {
  const { connection } = opts;
  const connName = opts.connectionName ?? connection.name;
  if (connection.strategy !== 'oauth2') throw new Error('the Auth0 emulator supports strategy "oauth2" only');
  if (opts.connectionName && opts.connectionName !== connection.name) throw new Error(`connectionName ${opts.connectionName} differs from connection.name ${connection.name}`);
  const o = connection.options;
  for (const k of ['authorizationURL', 'tokenURL', 'client_id', 'client_secret'] as const) if (!o[k]) throw new Error(`connection.options.${k} is required`);
  if (typeof o.scripts?.fetchUserProfile !== 'string') throw new Error('connection.options.scripts.fetchUserProfile is required');
  if (o.scripts.fetchUserProfile.length > 51200) throw new Error('fetchUserProfile is longer than 51200 characters');
  assertLoopback(o.authorizationURL, 'authorizationURL');
  assertLoopback(o.tokenURL, 'tokenURL');
  const scriptTimeoutMs = opts.scriptTimeoutMs ?? 10_000;
  const httpTimeoutMs = opts.httpTimeoutMs ?? 10_000;
  const rootMode: SetUserRootAttributes = o.set_user_root_attributes ?? 'on_each_login';

  const transactions = new Map<string, Transaction>();
  const pages = new Map<string, LoginResult>();
  const emu = {
    url: '',
    callbackUrl: '',
    connection,
    users: new Map<string, Auth0User>(),
    results: [] as LoginResult[],
    get lastResult() {
      return this.results[this.results.length - 1];
    },
    authorizeRedirects: [] as string[],
    tokenRequests: [] as TokenRequestRecord[],
    scriptLogs: [] as string[],
    scriptErrors: [] as string[],
    close: async () => {},
  };

  const send = (res: http.ServerResponse, status: number, headers: Record<string, string>, body = '') => {
    res.writeHead(status, { 'cache-control': 'no-store', ...headers });
    res.end(body);
  };

  const finish = (res: http.ServerResponse, result: LoginResult) => {
    emu.results.push(result);
    pages.set(result.id, result);
    send(res, 302, { location: `${emu.url}/result/${result.id}`, 'set-cookie': `${COOKIE}=; Path=/; HttpOnly; Max-Age=0` });
  };

  const scopeFor = (connectionScope: string | null): string | undefined => {
    const delimiter = o.useOauthSpecScope ? ' ' : ',';
    const configured = Array.isArray(o.scope) ? o.scope.join(delimiter) : o.scope;
    const parts = [configured, connectionScope].filter((s): s is string => !!s);
    return parts.length ? parts.join(delimiter) : undefined;
  };

  // -------------------------------------------------- /authorize (the app side)
  const authorize = (req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams) => {
    if (q.get('connection') !== connName) {
      return send(res, 400, { 'content-type': 'text/plain' }, `unknown connection: ${q.get('connection') ?? '(none)'}`);
    }
    const state = randomBytes(24).toString('base64url');
    const tx: Transaction = { id: randomBytes(8).toString('hex'), appState: q.get('state'), connectionScope: q.get('connection_scope'), verifier: null, expires: Date.now() + TX_TTL_MS };
    const url = new URL(o.authorizationURL); // keeps any query already in it
    for (const [k, v] of Object.entries(o.authParams ?? {})) url.searchParams.set(k, v);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', o.client_id);
    url.searchParams.set('redirect_uri', emu.callbackUrl);
    const scope = scopeFor(tx.connectionScope);
    if (scope) url.searchParams.set('scope', scope);
    url.searchParams.set('state', state);
    if (o.pkce_enabled) {
      tx.verifier = randomBytes(32).toString('base64url');
      url.searchParams.set('code_challenge', createHash('sha256').update(tx.verifier).digest('base64url'));
      url.searchParams.set('code_challenge_method', 'S256');
    }
    transactions.set(state, tx);
    emu.authorizeRedirects.push(url.href);
    void req;
    send(res, 302, { location: url.href, 'set-cookie': `${COOKIE}=${state}; Path=/; HttpOnly; SameSite=Lax` });
  };

  // -------------------------------------------------- /login/callback (the connection side)
  const callback = async (req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams) => {
    const state = q.get('state');
    const tx = state ? transactions.get(state) : undefined;
    const cookie = /(?:^|;\s*)auth0_emu_tx=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
    if (!state || !tx || tx.expires < Date.now() || cookie !== state) {
      return finish(res, { id: randomBytes(8).toString('hex'), ok: false, appState: tx?.appState ?? null, auth0State: state, stage: 'state', error: 'invalid_request', error_description: 'Invalid state' });
    }
    transactions.delete(state);
    const fail = (stage: LoginStage, error: string, error_description?: string, status?: number) =>
      finish(res, { id: tx.id, ok: false, appState: tx.appState, auth0State: state, stage, error, ...(error_description !== undefined ? { error_description } : {}), ...(status !== undefined ? { status } : {}) });

    const idpError = q.get('error');
    if (idpError) return fail('callback', idpError, q.get('error_description') ?? undefined);
    const code = q.get('code');
    if (!code) return fail('callback', 'invalid_request', 'Missing authorization code');

    // The token request, as passport-oauth2 / node-oauth send it.
    const body: Record<string, string> = { grant_type: 'authorization_code', redirect_uri: emu.callbackUrl, client_id: o.client_id, client_secret: o.client_secret, code };
    if (tx.verifier) body.code_verifier = tx.verifier;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(o.customHeaders ?? {}) };
    const record: TokenRequestRecord = { url: o.tokenURL, headers, body };
    emu.tokenRequests.push(record);
    let tokens: Record<string, unknown>;
    try {
      const r = await fetch(assertLoopback(o.tokenURL, 'tokenURL'), { method: 'POST', headers, body: new URLSearchParams(body).toString(), redirect: 'manual', signal: AbortSignal.timeout(httpTimeoutMs) });
      const text = await r.text();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = Object.fromEntries(new URLSearchParams(text)); // node-oauth's fallback
      }
      record.status = r.status;
      record.response = parsed;
      if (r.status < 200 || r.status > 299) {
        return fail('token', typeof parsed.error === 'string' ? parsed.error : 'access_denied', typeof parsed.error_description === 'string' ? parsed.error_description : `Failed to obtain access token (status ${r.status})`, r.status);
      }
      tokens = parsed;
    } catch (err) {
      return fail('token', 'access_denied', `Failed to obtain access token: ${(err as Error).message}`);
    }
    if (typeof tokens.access_token !== 'string' || !tokens.access_token) return fail('token', 'access_denied', 'Failed to obtain access token');
    const { refresh_token: refreshToken, ...ctx } = tokens;

    let profile: Record<string, unknown>;
    try {
      profile = await runProfileScript(o.scripts.fetchUserProfile, tokens.access_token, ctx, { timeoutMs: scriptTimeoutMs, logs: emu.scriptLogs, lateErrors: emu.scriptErrors });
    } catch (err) {
      return fail('script', 'access_denied', (err as Error).message);
    }
    const id = profile.user_id;
    if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '') {
      return fail('profile', 'access_denied', 'The profile returned by fetchUserProfile has no user_id');
    }

    // The Auth0 user: oauth2|<connection>|<user_id>, root attributes per set_user_root_attributes.
    const userId = `oauth2|${connName}|${String(id)}`;
    const now = new Date().toISOString();
    const existing = emu.users.get(userId);
    const { user_id: _ignored, app_metadata, user_metadata, ...attributes } = profile;
    void _ignored;
    const rootAllowed = rootMode === 'on_each_login' || (rootMode === 'on_first_login' && !existing);
    const others = Object.fromEntries(Object.entries(attributes).filter(([k]) => !(ROOT_ATTRIBUTES as readonly string[]).includes(k)));
    const roots = rootAllowed ? Object.fromEntries(Object.entries(attributes).filter(([k]) => (ROOT_ATTRIBUTES as readonly string[]).includes(k))) : {};
    const identity: Auth0Identity = { provider: 'oauth2', connection: connName, user_id: `${connName}|${String(id)}`, isSocial: true, access_token: tokens.access_token, ...(typeof refreshToken === 'string' ? { refresh_token: refreshToken } : {}) };
    const user: Auth0User = existing
      ? { ...existing, ...others, ...roots, identities: [identity], updated_at: now, last_login: now, logins_count: existing.logins_count + 1 }
      : {
          user_id: userId,
          ...others,
          ...roots,
          identities: [identity],
          created_at: now,
          updated_at: now,
          last_login: now,
          logins_count: 1,
          app_metadata: (app_metadata as Record<string, unknown>) ?? {},
          user_metadata: (user_metadata as Record<string, unknown>) ?? {},
        };
    emu.users.set(userId, user);
    finish(res, { id: tx.id, ok: true, appState: tx.appState, auth0State: state, user: structuredClone(user) });
  };

  const resultPage = (res: http.ServerResponse, id: string) => {
    const r = pages.get(id);
    if (!r) return send(res, 404, { 'content-type': 'text/plain' }, 'no such result');
    const json = escapeHtml(JSON.stringify(r.ok ? r.user : { stage: r.stage, error: r.error, error_description: r.error_description, status: r.status }, null, 2));
    const body = r.ok
      ? `<h1>Signed in with ${escapeHtml(connName)}</h1>\n<pre id="auth0-user">${json}</pre>`
      : `<h1>Sign-in with ${escapeHtml(connName)} failed</h1>\n<pre id="auth0-error">${json}</pre>`;
    send(
      res,
      r.ok ? 200 : 401,
      { 'content-type': 'text/html; charset=utf-8' },
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Auth0 emulator</title></head><body>\n${body}\n<p>app state: <code id="app-state">${escapeHtml(r.appState ?? '')}</code></p>\n</body></html>`,
    );
  };

  const server = http.createServer((req, res) => {
    const remote = req.socket.remoteAddress ?? '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) return send(res, 403, { 'content-type': 'text/plain' }, 'loopback only');
    const u = new URL(req.url ?? '/', emu.url);
    const route = `${req.method} ${u.pathname}`;
    const handle = async () => {
      if (route === 'GET /authorize') return authorize(req, res, u.searchParams);
      if (route === 'GET /login/callback') return callback(req, res, u.searchParams);
      const m = /^GET \/result\/([0-9a-f]+)$/.exec(route);
      if (m) return resultPage(res, m[1]!);
      return send(res, 404, { 'content-type': 'text/plain' }, 'not found');
    };
    handle().catch((err) => {
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, `emulator error: ${(err as Error).message}`);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  emu.url = `http://127.0.0.1:${port}`;
  emu.callbackUrl = `${emu.url}/login/callback`;
  emu.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return emu;
}
