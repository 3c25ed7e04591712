/** API tokens (for /console/api) and the audit log. */
import Router from '@koa/router';
import type { Context } from 'koa';
import { html } from '../../http/html.js';
import { errorList, notice } from '../views.js';
import { clientIp, csrfToken, readCheckedForm, render, requireFull, type ConsoleDeps, type Signed } from '../context.js';

const when = (t: number | null) => (t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');

export function tokenRoutes(deps: ConsoleDeps): Router {
  const r = new Router({ prefix: '/console' });
  const { repo } = deps;

  async function tokensPage(ctx: Context, s: Signed, extra: { created?: { name: string; token: string }; errors?: string[]; info?: string } = {}, status = 200) {
    const tokens = await repo.listApiTokens(s.account.id);
    const csrf = csrfToken(ctx, deps);
    render(ctx, {
      title: 'API tokens',
      nav: { active: 'tokens', email: s.account.email, csrf },
      body: html`<div class="page-head"><h1>API tokens</h1></div>
<p>API tokens authorise the management API (<code>/console/api</code>, see docs/console-api.md) for your account: send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
${notice(extra.info)}${errorList(extra.errors ?? [])}
${extra.created ? html`<section class="card"><h2>Token "${extra.created.name}" created</h2><p>Copy it now: it is shown only once.</p>
<div class="secret"><code id="new-token">${extra.created.token}</code><button type="button" data-copy="new-token">Copy</button></div></section>` : ''}
<section class="card"><h2>Create a token</h2>
<form method="post" action="/console/tokens"><input type="hidden" name="csrf" value="${csrf}">
<label for="token-name">Token name</label><input type="text" id="token-name" name="name" required maxlength="100">
<div class="actions"><button class="primary" type="submit">Create token</button></div></form></section>
<section class="card"><h2>Your tokens</h2>
${tokens.length ? html`<table><thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>
${tokens.map((t) => html`<tr><td>${t.name}</td><td>${when(t.createdAt)}</td><td>${when(t.lastUsedAt)}</td><td>${t.revokedAt ? `Revoked ${when(t.revokedAt)}` : 'Active'}</td>
<td>${t.revokedAt ? '' : html`<form method="post" action="/console/tokens/${t.id}/revoke"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" data-confirm="Revoke this token? Programs using it stop working at once.">Revoke</button></form>`}</td></tr>`)}
</tbody></table>` : html`<p class="muted">No tokens yet.</p>`}</section>`,
    }, status);
  }

  r.get('/tokens', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (s) await tokensPage(ctx, s);
  });

  r.post('/tokens', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (!s) return;
    const form = await readCheckedForm(ctx, deps);
    const name = (form.name ?? '').trim();
    if (!name || name.length > 100) return tokensPage(ctx, s, { errors: ['Give the token a name (up to 100 characters).'] }, 400);
    const { token, apiToken } = await repo.createApiToken(s.account.id, name);
    await repo.audit(s.account.id, 'api_token_created', { token_id: apiToken.id, name }, clientIp(ctx));
    await tokensPage(ctx, s, { created: { name, token } }, 201);
  });

  r.post('/tokens/:id/revoke', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (!s) return;
    await readCheckedForm(ctx, deps);
    if (!(await repo.revokeApiToken(s.account.id, ctx.params.id!))) {
      ctx.status = 404;
      return tokensPage(ctx, s, { errors: ['No such token.'] }, 404);
    }
    await repo.audit(s.account.id, 'api_token_revoked', { token_id: ctx.params.id }, clientIp(ctx));
    await tokensPage(ctx, s, { info: 'Token revoked.' });
  });

  r.get('/audit', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (!s) return;
    const entries = await repo.auditLog(s.account.id);
    render(ctx, {
      title: 'Audit log',
      nav: { active: 'audit', email: s.account.email, csrf: csrfToken(ctx, deps) },
      body: html`<div class="page-head"><h1>Audit log</h1></div>
<section class="card"><table id="audit"><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Details</th><th scope="col">IP</th></tr></thead><tbody>
${entries.map((e) => html`<tr><td>${when(e.createdAt)}</td><td>${e.event.replace(/_/g, ' ')}</td><td>${Object.entries(e.detail).map(([k, v]) => `${k}: ${String(v)}`).join(', ')}</td><td>${e.ip ?? ''}</td></tr>`)}
</tbody></table></section>`,
    });
  });

  return r;
}
