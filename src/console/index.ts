/**
 * The developer console at {PUBLIC_URL}/console: accounts (sign up, verify,
 * sign in, OTP, reset), applications, API tokens, the audit log, and the
 * management API (/console/api) over the same service layer.
 */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { accountRoutes } from './routes/accounts.js';
import { tokenRoutes } from './routes/tokens.js';
import { applicationRoutes } from './routes/applications.js';
import { apiRoutes } from './routes/api.js';
import { CsrfError, render, type ConsoleDeps } from './context.js';
import { html } from '../http/html.js';

export type { ConsoleDeps } from './context.js';

export function consoleMiddleware(deps: ConsoleDeps): Middleware<any, any>[] {
  const csrfGuard: Middleware = async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof CsrfError)) throw err;
      render(ctx, { title: 'Form expired', body: html`<section class="card error"><h1>This form has expired</h1><p>For your security the form could not be accepted. Go back, reload the page and try again.</p></section>` }, 403);
    }
  };
  const routers: Router[] = [accountRoutes(deps), tokenRoutes(deps), applicationRoutes(deps), apiRoutes(deps)];
  return [csrfGuard, ...routers.flatMap((r) => [r.routes() as Middleware<any, any>, r.allowedMethods() as Middleware<any, any>])];
}
