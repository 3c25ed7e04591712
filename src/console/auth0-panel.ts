/**
 * The "Auth0 setup" panel of an application's page: every value an Auth0 admin
 * pastes into a custom social connection, with copy buttons, and the list of
 * "Allowed Auth0 callback URLs" (for Auth0 custom domains).
 */
import { html, raw, type SafeHtml } from '../http/html.js';
import type { Application } from '../store/store.js';
import { PROXY_PREFIX } from '../auth0-proxy/proxy.js';
import { profileScript } from '../auth0-proxy/script.js';

export const AUTH0_SCOPE = 'openid email profile';

/** Validates the "Allowed Auth0 callback URLs" textarea: https URLs, one per line. */
export function parseAuth0Callbacks(text: string): { urls: string[] } | { error: string } {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length > 20) return { error: 'At most 20 Auth0 callback URLs.' };
  for (const l of lines) {
    let u: URL;
    try {
      u = new URL(l);
    } catch {
      return { error: `"${l}" is not a valid URL.` };
    }
    if (u.protocol !== 'https:') return { error: `"${l}" must be an https URL (Auth0 custom domains use https).` };
    if (u.hash || u.search) return { error: `"${l}" must not have a query or a fragment.` };
  }
  return { urls: [...new Set(lines)] };
}

const copyRow = (label: string, id: string, value: string) =>
  html`<dt>${label}</dt><dd><div class="secret"><code id="${id}">${value}</code><button type="button" data-copy="${id}">Copy</button></div></dd>`;

export function auth0Panel(o: { app: Application; base: string; csrf: string; action: string; error?: string; values?: string }): SafeHtml {
  const { app, base } = o;
  const callback = `${base}${PROXY_PREFIX}/callback`;
  const problems: string[] = [];
  if (!app.redirectUris.includes(callback)) problems.push(`Add ${callback} as a Redirect URL (Edit) so TrustLane can return to the Auth0 proxy.`);
  if (app.authMethod !== 'client_secret_basic' && app.authMethod !== 'client_secret_post') problems.push('Auth0 authenticates with a client secret: use client_secret_basic or client_secret_post.');
  const listed = (app.extra.auth0_callback_urls as string[] | undefined) ?? [];
  return html`<section class="card" aria-labelledby="auth0-title" id="auth0-setup"><h2 id="auth0-title">Auth0 setup</h2>
<p>To offer "Sign in with your bank" in Auth0, add a custom social connection (Authentication → Social → Create Connection → Create Custom) and paste these values.</p>
${problems.length ? html`<div class="card error" role="alert"><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : raw('')}
<dl class="record">
${copyRow('Authorization URL', 'auth0-authorization-url', `${base}${PROXY_PREFIX}/auth`)}
${copyRow('Token URL', 'auth0-token-url', `${base}${PROXY_PREFIX}/token`)}
${copyRow('Scope', 'auth0-scope', AUTH0_SCOPE)}
<dd class="field-hint">Turn on "Separate scopes using a space" (comma-separated scopes work too). Add address, phone, age_over_18… to receive more.</dd>
${copyRow('Client ID', 'auth0-client-id', app.clientId)}
<dt>Client Secret</dt><dd>The Client secret of this application (shown once when created or rotated; see Credentials above).</dd>
<dt>Fetch User Profile Script</dt><dd><pre class="script"><code id="auth0-script">${profileScript(base)}</code></pre>
<div class="actions"><button type="button" data-copy="auth0-script">Copy</button><a href="/integrations/auth0/fetchUserProfile.js">Open as a file</a></div>
<p class="field-hint">The Auth0 user id becomes <code>oauth2|CONNECTION|sub</code>: TrustLane's subject, stable for one person at one bank (an email address can change).</p></dd>
<dt>Auth0 callback</dt><dd>https://YOUR_TENANT.auth0.com/login/callback and the regional forms (YOUR_TENANT.eu.auth0.com…) are accepted automatically; nothing to register.</dd>
</dl>
<form method="post" action="${o.action}">
<input type="hidden" name="csrf" value="${o.csrf}">
<label for="auth0_callback_urls">Allowed Auth0 callback URLs</label>
<textarea id="auth0_callback_urls" name="auth0_callback_urls" aria-describedby="auth0-callbacks-hint${o.error ? ' auth0-callbacks-error' : ''}"${o.error ? raw(' aria-invalid="true"') : ''}>${o.values ?? listed.join('\n')}</textarea>
<p class="field-hint" id="auth0-callbacks-hint">Only for an Auth0 custom domain: one https URL per line, such as https://login.example.com/login/callback.</p>
${o.error ? html`<p class="field-error" id="auth0-callbacks-error">${o.error}</p>` : raw('')}
<div class="actions"><button type="submit">Save Auth0 callback URLs</button></div>
</form>
</section>`;
}
