import type { Context } from 'koa';

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads an application/x-www-form-urlencoded body (bounded) into a plain object. */
export async function readForm(ctx: Context, limit = 64 * 1024): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new BodyError(415, 'expected a form submission');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyError(413, 'form too large');
    chunks.push(chunk as Buffer);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) if (!(k in out)) out[k] = v;
  return out;
}
