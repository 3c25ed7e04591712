import type { Context } from 'koa';

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads an application/x-www-form-urlencoded body, bounded, keeping repeated parameters. */
export async function readFormParams(ctx: Context, limit = 64 * 1024): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new BodyError(415, 'expected a form submission');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyError(413, 'form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The same as a plain object (the first value of a repeated parameter wins). */
export async function readForm(ctx: Context, limit = 64 * 1024): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of await readFormParams(ctx, limit)) if (!(k in out)) out[k] = v;
  return out;
}
