/**
 * Applications in the console: the list, "+ Add Sandbox application" (step 1:
 * the form, step 2: review, then "Create application"), the record page with
 * "Client ID" and "Client secret", "Rotate secret", "Edit" and "Delete".
 *
 * Every page requires a full sign-in; every form carries the CSRF token.
 * Another account's application answers exactly like an unknown one (404).
 * A new client secret travels from the POST to the record page in the console
 * session (never in a URL) and is shown there once.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { html, raw, safeUrl, type SafeHtml } from '../../http/html.js';
import { errorList, notice } from '../views.js';
import { clientIp, csrfToken, readCheckedForm, render, requireFull, type ConsoleDeps, type Signed } from '../context.js';
import {
  AUTH_METHODS, ApplicationService, EMPTY_FORM, FIELDS, formValuesFromApplication, formValuesOf, usesSecret, validateApplication,
  type Actor, type ApplicationFormValues, type Field, type FieldErrors, type ValidApplication,
} from '../applications.js';
import type { Application } from '../../store/store.js';
import { auth0Panel, parseAuth0Callbacks } from '../auth0-panel.js';

/** A new secret waits in the session at most this long for its record page. */
const SECRET_FLASH_TTL = 10 * 60;
const FLASH_KEY = 'applicationsFlash';

interface Flash {
  notice?: string;
  secret?: { clientId: string; value: string; at: number };
}

const when = (t: number) => new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
const appPath = (app: Application | string, suffix = '') => `/console/applications/${encodeURIComponent(typeof app === 'string' ? app : app.clientId)}${suffix}`;
const kindBadge = (app: Application) => html`<span class="badge ${app.kind}">${app.kind === 'production' ? 'Production' : 'Sandbox'}</span>`;
const logoImg = (uri: string | null, size = 32) => {
  const src = safeUrl(uri);
  return src ? html`<img src="${src}" alt="" width="${size}" height="${size}" loading="lazy">` : html`<span class="logo-placeholder" aria-hidden="true"></span>`;
};

export function applicationRoutes(deps: ConsoleDeps): Router {
  const r = new Router({ prefix: '/console' });
  const svc = new ApplicationService(deps);
  const actor = (ctx: Context, s: Signed): Actor => ({ accountId: s.account.id, ip: clientIp(ctx), via: 'console' });

  const page = (ctx: Context, s: Signed, title: string, body: SafeHtml, status = 200) =>
    render(ctx, { title, nav: { active: 'applications', email: s.account.email, csrf: csrfToken(ctx, deps) }, body }, status);

  const csrfField = (ctx: Context) => html`<input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">`;

  const breadcrumb = (...items: [string, string?][]) =>
    html`<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/console/applications">Applications</a></li>${items.map(([label, href]) =>
      href ? html`<li><a href="${href}">${label}</a></li>` : html`<li><span aria-current="page">${label}</span></li>`)}</ol></nav>`;

  // ---------------------------------------------------------------- flash (one-time values carried across a redirect)

  async function setFlash(s: Signed, flash: Flash): Promise<void> {
    await deps.repo.updateSession(s.session.id, { data: { ...s.session.data, [FLASH_KEY]: flash } });
  }

  /** Takes the notice, and the new secret when it belongs to `clientId`; each is shown once. */
  async function takeFlash(s: Signed, clientId?: string): Promise<{ notice?: string; secret?: string }> {
    const f = s.session.data[FLASH_KEY] as Flash | undefined;
    if (!f) return {};
    const out: { notice?: string; secret?: string } = {};
    const keep: Flash = {};
    if (f.notice) out.notice = f.notice;
    if (f.secret && f.secret.at > Date.now() / 1000 - SECRET_FLASH_TTL) {
      if (clientId && f.secret.clientId === clientId) out.secret = f.secret.value;
      else keep.secret = f.secret;
    }
    const { [FLASH_KEY]: _taken, ...rest } = s.session.data;
    await deps.repo.updateSession(s.session.id, { data: keep.secret ? { ...rest, [FLASH_KEY]: keep } : rest });
    return out;
  }

  function seeOther(ctx: Context, url: string) {
    ctx.redirect(url);
    ctx.status = 303;
  }

  // ---------------------------------------------------------------- shared pieces

  /** The same page for another account's application and for an unknown id: nothing tells them apart. */
  const notFound = (ctx: Context, s: Signed) =>
    page(ctx, s, 'Application not found', html`${breadcrumb(['Not found'])}
<div class="page-head"><h1>Application not found</h1></div>
<section class="card"><p>There is no such application in your account. It may have been deleted, or the link may be wrong.</p>
<p><a href="/console/applications">Back to Applications</a></p></section>`, 404);

  /** The signed-in account and its application named in the URL, or the right answer already given. */
  async function ownedApp(ctx: Context, opts: { form?: boolean } = {}): Promise<{ s: Signed; app: Application; form: Record<string, string> } | undefined> {
    const s = await requireFull(ctx, deps);
    if (!s) return undefined;
    const form = opts.form ? await readCheckedForm(ctx, deps) : {};
    const app = await svc.owned(s.account.id, ctx.params.id ?? '');
    if (!app) {
      notFound(ctx, s);
      return undefined;
    }
    return { s, app, form };
  }

  function fieldBits(errors: FieldErrors, f: Field, hintId?: string) {
    const ids = [hintId, errors[f] ? `${f}-error` : undefined].filter(Boolean).join(' ');
    return {
      attrs: html`${ids ? html` aria-describedby="${ids}"` : ''}${errors[f] ? raw(' aria-invalid="true"') : ''}`,
      error: errors[f] ? html`<p class="field-error" id="${f}-error">${errors[f]}</p>` : '',
    };
  }

  /** The application form (step 1 and Edit): every label bound to its input, every typed value kept. */
  function applicationForm(ctx: Context, o: { action: string; values: ApplicationFormValues; errors: FieldErrors; submit: string; cancel: string }): SafeHtml {
    const { values: v, errors } = o;
    const method = fieldBits(errors, 'token_endpoint_auth_method', 'auth-hint');
    const name = fieldBits(errors, 'name', 'name-hint');
    const logo = fieldBits(errors, 'logo_uri', 'logo-hint');
    const origin = fieldBits(errors, 'origin_url', 'origin-hint');
    const redirects = fieldBits(errors, 'redirect_uris', 'redirect-hint');
    const jwksUri = fieldBits(errors, 'jwks_uri', 'jwks-uri-hint');
    const jwks = fieldBits(errors, 'jwks', 'jwks-hint');
    const current = (AUTH_METHODS as readonly string[]).includes(v.token_endpoint_auth_method) ? v.token_endpoint_auth_method : '';
    return html`${errorList(Object.values(errors))}
<form method="post" action="${o.action}" novalidate class="app-form">
${csrfField(ctx)}
<fieldset><legend>Auth method</legend>
${AUTH_METHODS.map((m) => html`<div class="radio"><input type="radio" id="auth-${m}" name="token_endpoint_auth_method" value="${m}"${m === current ? raw(' checked') : ''}${method.attrs}><label for="auth-${m}">${m}</label></div>`)}
<p class="field-hint" id="auth-hint">How your application authenticates at the token endpoint. client_secret_basic (the usual choice, and Auth0's) and client_secret_post use a client secret; private_key_jwt uses your own key pair.</p>
${method.error}
</fieldset>
<div class="field">
<label for="app-name">Application name</label>
<input type="text" id="app-name" name="name" required maxlength="100" autocomplete="off" value="${v.name}"${name.attrs}>
<p class="field-hint" id="name-hint">Shown to people when they choose their bank and consent.</p>
${name.error}
</div>
<div class="field">
<label for="app-logo">Application logo</label>
<input type="url" id="app-logo" name="logo_uri" inputmode="url" autocomplete="off" spellcheck="false" placeholder="https://example.com/logo.png" value="${v.logo_uri}"${logo.attrs}>
<p class="field-hint" id="logo-hint">Optional. The https URL of your logo (a square PNG or SVG).</p>
${logo.error}
</div>
<div class="field">
<label for="app-origin">Origin URL</label>
<input type="url" id="app-origin" name="origin_url" inputmode="url" autocomplete="off" spellcheck="false" placeholder="https://example.com/" value="${v.origin_url}"${origin.attrs}>
<p class="field-hint" id="origin-hint">Optional. The https address where your sign-in button starts the flow.</p>
${origin.error}
</div>
<div class="field">
<label for="app-redirects">Redirect URL</label>
<textarea id="app-redirects" name="redirect_uris" rows="3" required spellcheck="false" autocapitalize="off" autocomplete="off"${redirects.attrs}>${v.redirect_uris}</textarea>
<p class="field-hint" id="redirect-hint">One or more https URLs, one per line, where your application receives the sign-in response. No #fragment. http is allowed only for localhost and 127.0.0.1.</p>
${redirects.error}
</div>
<fieldset class="keys"><legend>Public keys (only for private_key_jwt)</legend>
<div class="field">
<label for="app-jwks-uri">JWK Set URI</label>
<input type="url" id="app-jwks-uri" name="jwks_uri" inputmode="url" autocomplete="off" spellcheck="false" placeholder="https://example.com/.well-known/jwks.json" value="${v.jwks_uri}"${jwksUri.attrs}>
<p class="field-hint" id="jwks-uri-hint">Only for private_key_jwt: the https URL where you publish your public keys. Give this or JWK Set Content, not both.</p>
${jwksUri.error}
</div>
<div class="field">
<label for="app-jwks">JWK Set Content</label>
<textarea id="app-jwks" name="jwks" rows="6" spellcheck="false" autocapitalize="off" autocomplete="off" placeholder='{"keys":[{"kty":"RSA","n":"…","e":"AQAB"}]}'${jwks.attrs}>${v.jwks}</textarea>
<p class="field-hint" id="jwks-hint">Only for private_key_jwt: your JWK Set as JSON, public keys only. The private key stays on your server.</p>
${jwks.error}
</div>
</fieldset>
<div class="actions"><button class="primary" type="submit">${o.submit}</button><a class="button" href="${o.cancel}">Cancel</a></div>
</form>`;
  }

  /** The values of an application, for the review page and the record page. */
  function details(a: Omit<ValidApplication, 'authMethod'> & { authMethod: string }, extra: SafeHtml | '' = ''): SafeHtml {
    const none = html`<span class="muted">None</span>`;
    return html`<dl class="review">
<dt>${FIELDS.token_endpoint_auth_method}</dt><dd><code>${a.authMethod}</code></dd>
<dt>${FIELDS.name}</dt><dd>${a.name}</dd>
<dt>${FIELDS.logo_uri}</dt><dd>${a.logoUri ? html`<span class="logo-line">${logoImg(a.logoUri)} <span class="url">${a.logoUri}</span></span>` : none}</dd>
<dt>${FIELDS.origin_url}</dt><dd>${a.originUrl ? html`<span class="url">${a.originUrl}</span>` : none}</dd>
<dt>${FIELDS.redirect_uris}</dt><dd><ul class="urls">${a.redirectUris.map((u) => html`<li class="url">${u}</li>`)}</ul></dd>
${a.authMethod === 'private_key_jwt' ? html`<dt>${FIELDS.jwks_uri}</dt><dd>${a.jwksUri ? html`<span class="url">${a.jwksUri}</span>` : none}</dd>
<dt>${FIELDS.jwks}</dt><dd>${a.jwks ? html`<pre class="jwks">${JSON.stringify(a.jwks, null, 2)}</pre>` : none}</dd>` : ''}
${extra}
</dl>`;
  }

  // ---------------------------------------------------------------- list

  r.get('/applications', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (!s) return;
    const flash = await takeFlash(s);
    const apps = await svc.list(s.account.id);
    page(ctx, s, 'Applications', html`<div class="page-head"><h1>Applications</h1><a class="button primary" href="/console/applications/new">+ Add Sandbox application</a></div>
${notice(flash.notice)}
<section class="card">
${apps.length
    ? html`<table class="apps"><caption class="sr-only">Your applications</caption>
<thead><tr><th scope="col"><span class="sr-only">Logo</span></th><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Client ID</th></tr></thead>
<tbody>
${apps.map((a) => html`<tr><td class="logo">${logoImg(a.logoUri)}</td><td><a href="${appPath(a)}">${a.name}</a></td><td>${kindBadge(a)}</td><td><span class="cell-label">Client ID </span><code>${a.clientId}</code></td></tr>`)}
</tbody></table>`
    : html`<p class="empty">You have no applications yet. Click "+ Add Sandbox application" to register one: you get a client ID and a client secret to sign people in with the sandbox banks.</p>`}
</section>`);
  });

  // ---------------------------------------------------------------- + Add Sandbox application: step 1, step 2, create

  const stepOne = (ctx: Context, s: Signed, values: ApplicationFormValues, errors: FieldErrors = {}, status = 200) =>
    page(ctx, s, 'Add Sandbox application (step 1 of 2)', html`${breadcrumb(['Add Sandbox application'])}
<div class="page-head"><h1>Add Sandbox application</h1></div>
<p class="step">Step 1 of 2: describe your application. Sandbox applications sign people in with the sandbox banks.</p>
<section class="card">${applicationForm(ctx, { action: '/console/applications/new', values, errors, submit: 'Next step', cancel: '/console/applications' })}</section>`, status);

  r.get('/applications/new', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (s) stepOne(ctx, s, EMPTY_FORM);
  });

  r.post('/applications/new', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (!s) return;
    const form = await readCheckedForm(ctx, deps);
    const values = formValuesOf(form);
    if (form.back) return stepOne(ctx, s, values);
    const v = validateApplication(values);
    if (!v.ok) return stepOne(ctx, s, values, v.errors, 400);
    page(ctx, s, 'Review application (step 2 of 2)', html`${breadcrumb(['Add Sandbox application'])}
<div class="page-head"><h1>Review your application</h1></div>
<p class="step">Step 2 of 2: check the values, then create the application. You will see its client ID and client secret next.</p>
<section class="card">
${details(v.value, html`<dt>Kind</dt><dd><span class="badge sandbox">Sandbox</span></dd>`)}
<form method="post" action="/console/applications">
${csrfField(ctx)}
${(Object.keys(FIELDS) as Field[]).map((f) => html`<input type="hidden" name="${f}" value="${values[f]}">`)}
<div class="actions"><button type="submit" formaction="/console/applications/new" name="back" value="1">Back</button><button class="primary" type="submit">Create application</button></div>
</form></section>`);
  });

  r.post('/applications', async (ctx) => {
    const s = await requireFull(ctx, deps);
    if (!s) return;
    const form = await readCheckedForm(ctx, deps);
    const values = formValuesOf(form);
    // The review page's hidden fields are input like any other: validated again.
    const res = await svc.create(actor(ctx, s), values);
    if (!res.ok) return stepOne(ctx, s, values, res.error === 'invalid' ? res.errors : {}, 400);
    const { application, clientSecret } = res.value;
    await setFlash(s, {
      notice: `Application "${application.name}" created.`,
      ...(clientSecret ? { secret: { clientId: application.clientId, value: clientSecret, at: Math.floor(Date.now() / 1000) } } : {}),
    });
    seeOther(ctx, appPath(application));
  });

  // ---------------------------------------------------------------- the record

  r.get('/applications/:id', async (ctx) => {
    const got = await ownedApp(ctx);
    if (!got) return;
    const { s, app } = got;
    const flash = await takeFlash(s, app.clientId);
    const secretBlock = !usesSecret(app.authMethod)
      ? html`<p>None: this application authenticates with <code>${app.authMethod}</code>${app.authMethod === 'private_key_jwt' ? ', signing with its own private key' : ''}.</p>`
      : flash.secret
        ? html`<div class="secret"><code id="client-secret">${flash.secret}</code><button type="button" data-copy="client-secret">Copy</button></div>
<p class="warning" role="status"><strong>Copy the client secret now: it is shown only once.</strong> After you leave or reload this page it stays hidden; if you lose it, rotate it to get a new one.</p>`
        : html`<p>Hidden: the client secret is shown only once, right after it is created or rotated. If you lost it, rotate it: you get a new one and the old one stops working.</p>
<p><a class="button" href="${appPath(app, '/rotate')}">Rotate secret</a></p>`;
    page(ctx, s, app.name, html`${breadcrumb([app.name])}
<div class="page-head"><h1 class="app-title">${logoImg(app.logoUri, 40)} <span>${app.name}</span></h1>
<div class="head-actions"><a class="button" href="${appPath(app, '/edit')}">Edit</a><a class="button danger" href="${appPath(app, '/delete')}">Delete</a></div></div>
${notice(flash.notice)}
<section class="card" aria-labelledby="credentials-title"><h2 id="credentials-title">Credentials</h2>
<dl class="record">
<dt>Client ID</dt><dd><div class="secret"><code id="client-id">${app.clientId}</code><button type="button" data-copy="client-id">Copy</button></div></dd>
<dt>Client secret</dt><dd>${secretBlock}</dd>
<dt>Issuer</dt><dd><div class="secret"><code id="issuer">${deps.config.issuer}</code><button type="button" data-copy="issuer">Copy</button></div>
<p class="field-hint">Discovery: <code>${deps.config.issuer}/.well-known/openid-configuration</code></p></dd>
</dl></section>
<section class="card" aria-labelledby="settings-title"><h2 id="settings-title">Settings</h2>
${details(app, html`<dt>Kind</dt><dd>${kindBadge(app)}</dd><dt>Created</dt><dd>${when(app.createdAt)}</dd><dt>Updated</dt><dd>${when(app.updatedAt)}</dd>`)}
<div class="actions"><a class="button" href="${appPath(app, '/edit')}">Edit</a>${usesSecret(app.authMethod) ? html`<a class="button" href="${appPath(app, '/rotate')}">Rotate secret</a>` : ''}<a class="button danger" href="${appPath(app, '/delete')}">Delete</a></div>
</section>
${auth0Panel({ app, base: deps.base, csrf: csrfToken(ctx, deps), action: appPath(app, '/auth0-callbacks') })}`);
  });

  r.post('/applications/:id/auth0-callbacks', async (ctx) => {
    const got = await ownedApp(ctx, { form: true });
    if (!got) return;
    const { s, app, form } = got;
    const parsed = parseAuth0Callbacks(form.auth0_callback_urls ?? '');
    if ('error' in parsed) {
      return page(ctx, s, app.name, html`${breadcrumb([app.name, appPath(app)], ['Auth0 setup'])}
${auth0Panel({ app, base: deps.base, csrf: csrfToken(ctx, deps), action: appPath(app, '/auth0-callbacks'), error: parsed.error, values: form.auth0_callback_urls ?? '' })}`, 400);
    }
    await deps.store.updateApplicationExtra(app.clientId, { ...app.extra, auth0_callback_urls: parsed.urls });
    await deps.repo.audit(s.account.id, 'application_updated', { client_id: app.clientId, name: app.name, via: 'console', auth0_callback_urls: parsed.urls.length }, clientIp(ctx));
    ctx.status = 303;
    ctx.redirect(`${appPath(app)}#auth0-setup`);
  });

  // ---------------------------------------------------------------- edit

  const editPage = (ctx: Context, s: Signed, app: Application, values: ApplicationFormValues, errors: FieldErrors = {}, status = 200) =>
    page(ctx, s, `Edit ${app.name}`, html`${breadcrumb([app.name, appPath(app)], ['Edit'])}
<div class="page-head"><h1>Edit <span class="name">${app.name}</span></h1></div>
<section class="card">${applicationForm(ctx, { action: appPath(app, '/edit'), values, errors, submit: 'Save changes', cancel: appPath(app) })}
<p class="field-hint">Changes apply at once. Switching to private_key_jwt removes the client secret; switching from it to a secret-based method issues a new secret.</p></section>`, status);

  r.get('/applications/:id/edit', async (ctx) => {
    const got = await ownedApp(ctx);
    if (got) editPage(ctx, got.s, got.app, formValuesFromApplication(got.app));
  });

  r.post('/applications/:id/edit', async (ctx) => {
    const got = await ownedApp(ctx, { form: true });
    if (!got) return;
    const { s, app, form } = got;
    const values = formValuesOf(form);
    const res = await svc.update(actor(ctx, s), app.clientId, values);
    if (!res.ok) {
      if (res.error === 'invalid') return editPage(ctx, s, app, values, res.errors, 400);
      return notFound(ctx, s);
    }
    const { application, clientSecret } = res.value;
    await setFlash(s, {
      notice: clientSecret ? 'Changes saved. The application now uses a client secret: copy it below.' : 'Changes saved.',
      ...(clientSecret ? { secret: { clientId: application.clientId, value: clientSecret, at: Math.floor(Date.now() / 1000) } } : {}),
    });
    seeOther(ctx, appPath(application));
  });

  // ---------------------------------------------------------------- rotate secret

  const noSecretPage = (ctx: Context, s: Signed, app: Application, status: number) =>
    page(ctx, s, `Rotate secret of ${app.name}`, html`${breadcrumb([app.name, appPath(app)], ['Rotate secret'])}
<div class="page-head"><h1>Rotate secret</h1></div>
<section class="card error"><p>"${app.name}" authenticates with <code>${app.authMethod}</code>: it has no client secret to rotate. To use a secret, edit the application and choose client_secret_basic or client_secret_post.</p>
<p><a href="${appPath(app)}">Back to ${app.name}</a></p></section>`, status);

  r.get('/applications/:id/rotate', async (ctx) => {
    const got = await ownedApp(ctx);
    if (!got) return;
    const { s, app } = got;
    if (!usesSecret(app.authMethod)) return noSecretPage(ctx, s, app, 200);
    page(ctx, s, `Rotate secret of ${app.name}`, html`${breadcrumb([app.name, appPath(app)], ['Rotate secret'])}
<div class="page-head"><h1>Rotate secret</h1></div>
<section class="card warning-card"><p>Rotating issues a new client secret for <strong>${app.name}</strong>.</p>
<p><strong>The old secret stops working immediately:</strong> every program using it (your Auth0 connection, for example) fails to sign people in until you give it the new secret, which is shown once on the next page.</p>
<form method="post" action="${appPath(app, '/rotate')}">${csrfField(ctx)}
<div class="actions"><button class="primary" type="submit">Rotate secret</button><a class="button" href="${appPath(app)}">Cancel</a></div></form></section>`);
  });

  r.post('/applications/:id/rotate', async (ctx) => {
    const got = await ownedApp(ctx, { form: true });
    if (!got) return;
    const { s, app } = got;
    const res = await svc.rotateSecret(actor(ctx, s), app.clientId);
    if (!res.ok) return res.error === 'no_secret' ? noSecretPage(ctx, s, app, 400) : notFound(ctx, s);
    await setFlash(s, {
      notice: 'Secret rotated: the old secret no longer works.',
      secret: { clientId: app.clientId, value: res.value.clientSecret, at: Math.floor(Date.now() / 1000) },
    });
    seeOther(ctx, appPath(app));
  });

  // ---------------------------------------------------------------- delete

  r.get('/applications/:id/delete', async (ctx) => {
    const got = await ownedApp(ctx);
    if (!got) return;
    const { s, app } = got;
    page(ctx, s, `Delete ${app.name}`, html`${breadcrumb([app.name, appPath(app)], ['Delete'])}
<div class="page-head"><h1>Delete application</h1></div>
<section class="card error"><p>Delete <strong>${app.name}</strong> (client ID <code>${app.clientId}</code>)?</p>
<p><strong>The application stops working at once:</strong> sign-ins with its client ID and secret fail immediately, and this cannot be undone.</p>
<form method="post" action="${appPath(app, '/delete')}">${csrfField(ctx)}
<div class="actions"><button class="danger" type="submit">Delete application</button><a class="button" href="${appPath(app)}">Cancel</a></div></form></section>`);
  });

  r.post('/applications/:id/delete', async (ctx) => {
    const got = await ownedApp(ctx, { form: true });
    if (!got) return;
    const { s, app } = got;
    const res = await svc.delete(actor(ctx, s), app.clientId);
    if (!res.ok) return notFound(ctx, s);
    await setFlash(s, { notice: `Application "${app.name}" deleted. Its client ID no longer works.` });
    seeOther(ctx, '/console/applications');
  });

  return r;
}
