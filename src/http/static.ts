import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../static');
const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };
const cache = new Map<string, Buffer>();

/** Serves ./static under /static (small, fixed set of files; cached in memory). */
export function serveStatic(): Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/static/') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const rel = path.normalize(decodeURIComponent(ctx.path.slice('/static/'.length)));
    const file = path.join(ROOT, rel);
    if (!file.startsWith(ROOT + path.sep) || !TYPES[path.extname(file)]) return next();
    let body = cache.get(file);
    if (!body) {
      try {
        body = await fs.readFile(file);
      } catch {
        return next();
      }
      cache.set(file, body);
    }
    ctx.type = TYPES[path.extname(file)]!;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  };
}
