/**
 * A minimal browser-like HTTP agent for end-to-end tests: a cookie jar per
 * origin, manual redirects (so a test sees every hop), and form helpers.
 * Talks to 127.0.0.1/localhost only.
 */
import assert from 'node:assert/strict';

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface Hop {
  url: string;
  status: number;
  location?: string;
}

export interface PageResult {
  url: string;
  status: number;
  body: string;
  hops: Hop[];
}

export class Agent {
  private jar = new Map<string, Cookie[]>(); // host -> cookies
  requests = 0;

  constructor(private readonly opts: { timeoutMs?: number } = {}) {}

  private cookieHeader(url: URL): string | undefined {
    const list = (this.jar.get(url.host) ?? []).filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/');
    return list.length ? list.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  private store(url: URL, res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v] = a.trim().split('=');
        if (k!.toLowerCase() === 'path') path = v ?? '/';
        if (k!.toLowerCase() === 'expires' && v && new Date(v).getTime() < Date.now()) expired = true;
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const list = (this.jar.get(url.host) ?? []).filter((c) => !(c.name === name && c.path === path));
      if (!expired && value !== '') list.push({ name, value, path });
      this.jar.set(url.host, list);
    }
  }

  cookies(host: string): Cookie[] {
    return this.jar.get(host) ?? [];
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    assert.ok(['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname), `test agent only talks to loopback, not ${u.hostname}`);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    this.requests++;
    const send = () => fetch(u, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15000) });
    let res: Response;
    try {
      res = await send();
    } catch (err) {
      // Like a browser: a kept-alive connection the server closed (a restart) is retried once on a new one.
      if ((err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
      res = await send();
    }
    this.store(u, res);
    return res;
  }

  /**
   * Requests `url` and follows redirects until a page answers (non-3xx) or the
   * next location starts with `stopAt` (the app's redirect_uri, which no one serves).
   */
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}, stopAt?: string): Promise<PageResult> {
    const hops: Hop[] = [];
    let res = await this.request(url, init);
    let current = url;
    for (let i = 0; i < 20; i++) {
      const location = res.headers.get('location');
      hops.push({ url: current, status: res.status, ...(location ? { location } : {}) });
      if (res.status < 300 || res.status >= 400 || !location) {
        return { url: current, status: res.status, body: await res.text(), hops };
      }
      await res.arrayBuffer();
      const next = new URL(location, current).href;
      if (stopAt && next.startsWith(stopAt)) return { url: next, status: res.status, body: '', hops };
      current = next;
      res = await this.request(current);
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

/** Reads a form's action and hidden inputs from HTML (the forms our pages render). */
export function formOf(htmlText: string, actionIncludes: string): { action: string; fields: Record<string, string> } {
  const forms = [...htmlText.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  const f = forms.find((m) => m[1]!.includes(actionIncludes));
  assert.ok(f, `no form with action containing ${actionIncludes} in page:\n${htmlText.slice(0, 2000)}`);
  const fields: Record<string, string> = {};
  for (const m of f[2]!.matchAll(/<input\b[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[m[1]!] = decodeEntities(m[2]!);
  return { action: decodeEntities(f[1]!), fields };
}

export function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`');
}
