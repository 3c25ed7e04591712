/**
 * How the connectors reach banks: openid-client's `customFetch` hook, served by
 * node:http / node:https with keep-alive agents instead of the global fetch.
 *
 * Why: on Node 20 the global fetch (undici with WHATWG streams) spent about
 * twice the CPU of a node:http request per back-channel call (PAR, token,
 * userinfo) in `npm run bench:login`; see docs/benchmarks.md. The protocol
 * stays entirely in openid-client: this only moves bytes.
 *
 * Bounded like everything outbound: the AbortSignal openid-client passes
 * carries the bank's timeout (the whole exchange, body included), and an
 * answer larger than MAX_BODY_BYTES is cut off as an error.
 */
import http from 'node:http';
import https from 'node:https';
import type { CustomFetch } from 'openid-client';

export const MAX_BODY_BYTES = 1024 * 1024;

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' }),
};

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function headerRecord(input: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!input) return out;
  new Headers(input as HeadersInit).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function bodyBytes(body: unknown): string | Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('bankFetch: unsupported request body type');
}

export const bankFetch: CustomFetch = (url, options) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const protocol = target.protocol as 'http:' | 'https:';
    const agent = agents[protocol];
    if (!agent) return reject(new TypeError(`bankFetch: unsupported protocol ${target.protocol}`));
    const headers = headerRecord(options.headers);
    const body = bodyBytes(options.body);
    if (options.body instanceof URLSearchParams && !headers['content-type']) headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const request = (protocol === 'https:' ? https : http).request(target, { method: options.method, headers, agent, signal: options.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy(Object.assign(new Error(`response from ${target.host} exceeds ${MAX_BODY_BYTES} bytes`), { code: 'TL_RESPONSE_TOO_LARGE' }));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error(`connection to ${target.host} closed before the response ended`), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 502;
        try {
          resolve(new Response(NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
        } catch (err) {
          reject(err);
        }
      });
    });
    request.on('error', reject);
    request.end(body);
  });
