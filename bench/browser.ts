/**
 * A small browser for the benchmark: one cookie jar per instance (one instance
 * per login), manual redirects, form helpers, on node:http over a shared
 * keep-alive Agent (cheaper per request than fetch, and the benchmark client
 * shares the CPU with the server it measures). Loopback only.
 */
import http from 'node:http';

/** One keep-alive connection pool for every simulated browser. */
export const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 1000 });

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function assertLoopback(url: string | URL): URL {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' || !LOOPBACK.has(u.hostname)) throw new Error(`the benchmark only talks to http://127.0.0.1 (loopback), not ${u.href}`);
  return u;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface Page {
  url: string;
  status: number;
  body: string;
}

/** Records the latency of every request by label (for the per-hop breakdown). */
export class HopTimings {
  readonly samples = new Map<string, number[]>();
  add(label: string, ms: number) {
    let list = this.samples.get(label);
    if (!list) this.samples.set(label, (list = []));
    list.push(ms);
  }
  clear() {
    this.samples.clear();
  }
}

/** "/interaction/3kq…ZQ/bank" -> "/interaction/:id/bank" (ids are long random tokens). */
export function pathLabel(u: URL): string {
  return u.pathname
    .split('/')
    .map((s) => (s.length >= 16 && /^[A-Za-z0-9_-]+$/.test(s) ? ':id' : s))
    .join('/');
}

/**
 * Times every request a server answers (request in -> response finished), by
 * method and path: the server-side view of the hops, back-channel calls (PAR,
 * the bank's token and userinfo) included. Only for servers in this process.
 */
export function timeServerRequests(server: http.Server, hops: HopTimings): void {
  const listeners = server.listeners('request') as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const t0 = performance.now();
    const u = new URL(req.url ?? '/', 'http://x');
    res.once('finish', () => hops.add(`${req.method} ${pathLabel(u)}`, performance.now() - t0));
    for (const l of listeners) l.call(server, req, res);
  });
}

export class Browser {
  private jar = new Map<string, Cookie[]>(); // host -> cookies
  requests = 0;

  constructor(
    private readonly opts: { timeoutMs: number; hops?: HopTimings | undefined; step?: string },
  ) {}

  /** Names the current step of the flow, used as a prefix of hop labels. */
  step(name: string) {
    this.opts.step = name;
  }

  private cookieHeader(u: URL): string | undefined {
    const list = (this.jar.get(u.host) ?? []).filter((c) => c.path === '/' || u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`));
    return list.length ? list.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  private storeCookies(u: URL, setCookie: string[] | undefined) {
    if (!setCookie) return;
    for (const line of setCookie) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const i = a.indexOf('=');
        const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
        const v = i < 0 ? undefined : a.slice(i + 1).trim();
        if (k === 'path') path = v || '/';
        else if (k === 'expires' && v && Date.parse(v) < Date.now()) expired = true;
        else if (k === 'max-age' && Number(v) <= 0) expired = true;
      }
      const list = (this.jar.get(u.host) ?? []).filter((c) => !(c.name === name && c.path === path));
      if (!expired && value !== '') list.push({ name, value, path });
      this.jar.set(u.host, list);
    }
  }

  /** One HTTP request; never follows redirects. */
  request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ status: number; location: string | undefined; body: string }> {
    const u = assertLoopback(url);
    const headers: Record<string, string> = { accept: 'text/html,application/json' };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const method = init.method ?? (body !== undefined ? 'POST' : 'GET');
    const label = `${this.opts.step ?? ''} ${method} ${pathLabel(u)}`.trim();
    this.requests++;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || 80, path: `${u.pathname}${u.search}`, method, headers, agent: keepAliveAgent, timeout: this.opts.timeoutMs },
        (res) => {
          this.storeCookies(u, res.headers['set-cookie']);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            this.opts.hops?.add(label, performance.now() - t0);
            resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.opts.timeoutMs} ms: ${method} ${u.href}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Requests `url` and follows redirects until a page answers (non-3xx) or the
   * next location starts with `stopAt` (the app's redirect_uri, which no one serves).
   */
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}, stopAt?: string): Promise<Page> {
    let res = await this.request(url, init);
    let current = url;
    for (let i = 0; i < 20; i++) {
      if (res.status < 300 || res.status >= 400 || !res.location) return { url: current, status: res.status, body: res.body };
      const next = new URL(res.location, current).href;
      if (stopAt && next.startsWith(stopAt)) return { url: next, status: res.status, body: '' };
      current = next;
      res = await this.request(current);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the first form on `page` whose action contains `action`, with extra fields. */
  submit(page: Page, action: string, fields: Record<string, string>, stopAt?: string): Promise<Page> {
    const form = formOf(page.body, action);
    return this.go(new URL(form.action, page.url).href, { form: { ...form.fields, ...fields } }, stopAt);
  }
}

/** Reads a form's action and hidden inputs from HTML. */
export function formOf(htmlText: string, actionIncludes: string): { action: string; fields: Record<string, string> } {
  for (const m of htmlText.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    if (!m[1]!.includes(actionIncludes)) continue;
    const fields: Record<string, string> = {};
    for (const h of m[2]!.matchAll(/<input\b[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[h[1]!] = decodeEntities(h[2]!);
    return { action: decodeEntities(m[1]!), fields };
  }
  throw new Error(`no form with action containing ${actionIncludes} in page:\n${htmlText.slice(0, 1000)}`);
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`');
}
