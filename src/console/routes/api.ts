/**
 * The management API at /console/api: the same application service as the
 * console's pages, for programs. Authorised only by an API token
 * (`Authorization: Bearer <token>`, created under "API tokens"): no cookies, so
 * no CSRF. JSON in, JSON out; never a secret hash. docs/console-api.md and
 * docs/openapi.yaml describe it.
 */
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { BodyError, readBody } from '../../http/body.js';
import { clientIp, type ConsoleDeps } from '../context.js';
import { ApplicationService, FIELDS, applicationJson, inputOf, usesSecret, type Actor, type ApplicationInput, type Field, type FieldErrors } from '../applications.js';

export const API_BODY_LIMIT = 64 * 1024;
const REALM = 'TrustLane Console API';

class ApiError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>, readonly headers: Record<string, string> = {}) {
    super(String(body.error));
  }
}

const NOT_FOUND = () => new ApiError(404, { error: 'not_found', error_description: 'No such application.' });

function invalid(errors: Record<string, string>): ApiError {
  return new ApiError(400, { error: 'invalid_request', error_description: Object.values(errors).join(' '), fields: errors });
}

const tooLarge = () => new ApiError(413, { error: 'invalid_request', error_description: `The request body is larger than ${API_BODY_LIMIT / 1024} KB.` });

/** The JSON object in the request body: 415 for another content type, 413 past 64 KB, 400 for bad JSON. */
async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new ApiError(415, { error: 'invalid_request', error_description: 'Send a JSON object with Content-Type: application/json.' });
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > API_BODY_LIMIT) throw tooLarge();
  let raw: Buffer;
  try {
    raw = await readBody(ctx.req, API_BODY_LIMIT);
  } catch (err) {
    throw err instanceof BodyError && err.status === 413 ? tooLarge() : err;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, { error: 'invalid_request', error_description: `The request body is not valid JSON (${(err as Error).message}).` });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, { error: 'invalid_request', error_description: 'The request body must be a JSON object.' });
  }
  return body as Record<string, unknown>;
}

/** Only the writable members are accepted: a typo is an error, not silently ignored. */
function applicationInput(body: Record<string, unknown>): ApplicationInput {
  const unknown = Object.keys(body).filter((k) => !(k in FIELDS));
  if (unknown.length) {
    throw invalid(Object.fromEntries(unknown.map((k) => [k, `"${k.slice(0, 60)}" is not a field you can set: use ${Object.keys(FIELDS).join(', ')}.`])));
  }
  return body as ApplicationInput;
}

export function apiRoutes(deps: ConsoleDeps): Router {
  const r = new Router({ prefix: '/console/api' });
  const svc = new ApplicationService(deps);

  async function authenticate(ctx: Context): Promise<string> {
    const m = /^Bearer +([A-Za-z0-9._~+/=-]{1,200}) *$/i.exec(ctx.get('authorization'));
    if (!m) {
      throw new ApiError(
        401,
        { error: 'invalid_token', error_description: 'Send an API token: Authorization: Bearer <token>. Create one in the console under "API tokens".' },
        { 'WWW-Authenticate': `Bearer realm="${REALM}"` },
      );
    }
    const accountId = await deps.repo.apiTokenAccount(m[1]!);
    if (!accountId || !(await deps.repo.accountById(accountId))) {
      throw new ApiError(
        401,
        { error: 'invalid_token', error_description: 'The API token is not valid: it is unknown or was revoked.' },
        { 'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="The API token is unknown or revoked"` },
      );
    }
    return accountId;
  }

  /** Authenticates, runs the handler, and answers every error as JSON. */
  const endpoint =
    (fn: (ctx: Context, actor: Actor) => Promise<void>): Middleware =>
    async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      try {
        const accountId = await authenticate(ctx);
        await fn(ctx, { accountId, ip: clientIp(ctx), via: 'api' });
      } catch (err) {
        if (!(err instanceof ApiError)) {
          deps.log.error({ err, path: ctx.path }, 'console API error');
          err = new ApiError(500, { error: 'server_error', error_description: 'Something went wrong on our side. Try again later.' });
        }
        const e = err as ApiError;
        ctx.status = e.status;
        for (const [k, v] of Object.entries(e.headers)) ctx.set(k, v);
        ctx.body = e.body;
      }
    };

  const param = (ctx: Context) => ctx.params.client_id ?? '';

  r.get('/applications', endpoint(async (ctx, actor) => {
    ctx.body = { applications: (await svc.list(actor.accountId)).map((a) => applicationJson(a)) };
  }));

  r.post('/applications', endpoint(async (ctx, actor) => {
    const input = applicationInput(await readJson(ctx));
    const res = await svc.create(actor, input);
    if (!res.ok) throw res.error === 'invalid' ? invalid(res.errors) : NOT_FOUND();
    ctx.status = 201;
    ctx.set('Location', `/console/api/applications/${encodeURIComponent(res.value.application.clientId)}`);
    ctx.body = applicationJson(res.value.application, res.value.clientSecret);
  }));

  r.get('/applications/:client_id', endpoint(async (ctx, actor) => {
    const app = await svc.owned(actor.accountId, param(ctx));
    if (!app) throw NOT_FOUND();
    ctx.body = applicationJson(app);
  }));

  r.patch('/applications/:client_id', endpoint(async (ctx, actor) => {
    const patch = applicationInput(await readJson(ctx));
    const app = await svc.owned(actor.accountId, param(ctx));
    if (!app) throw NOT_FOUND();
    // PATCH merges onto the current values. Leaving private_key_jwt for a
    // secret-based method drops the keys unless the request sets them.
    const merged: ApplicationInput = { ...inputOf(app), ...patch };
    const method = patch.token_endpoint_auth_method;
    if (typeof method === 'string' && usesSecret(method as never)) {
      if (!('jwks' in patch)) merged.jwks = null;
      if (!('jwks_uri' in patch)) merged.jwks_uri = null;
    }
    const res = await svc.update(actor, app.clientId, merged);
    if (!res.ok) throw res.error === 'invalid' ? invalid(res.errors as Record<Field, string>) : NOT_FOUND();
    ctx.body = applicationJson(res.value.application, res.value.clientSecret);
  }));

  r.delete('/applications/:client_id', endpoint(async (ctx, actor) => {
    const res = await svc.delete(actor, param(ctx));
    if (!res.ok) throw NOT_FOUND();
    ctx.status = 204;
  }));

  r.post('/applications/:client_id/rotate-secret', endpoint(async (ctx, actor) => {
    const res = await svc.rotateSecret(actor, param(ctx));
    if (!res.ok) {
      if (res.error === 'no_secret') {
        const errors: FieldErrors = { token_endpoint_auth_method: 'This application uses private_key_jwt: it has no client secret to rotate. Change its Auth method to client_secret_basic or client_secret_post to get one.' };
        throw new ApiError(400, { error: 'invalid_request', error_description: errors.token_endpoint_auth_method, fields: errors });
      }
      throw NOT_FOUND();
    }
    ctx.body = applicationJson(res.value.application, res.value.clientSecret);
  }));

  // Anything else under /console/api: JSON 405 for a known path, JSON 404 otherwise.
  r.all('{/*rest}', (ctx) => {
    if (ctx.body) return;
    const methods = new Set((ctx.matched ?? []).filter((l) => !String(l.path).endsWith('{/*rest}')).flatMap((l) => l.methods));
    ctx.set('Cache-Control', 'no-store');
    if (methods.size) {
      ctx.status = 405;
      ctx.set('Allow', [...methods].join(', '));
      ctx.body = { error: 'method_not_allowed', error_description: `Use ${[...methods].join(', ')} here.` };
    } else {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'No such API endpoint: see docs/console-api.md.' };
    }
  });

  return r;
}
