import type { Application } from '../../store/store.js';
import { CLAIM_LABELS, SCOPE_CLAIMS, displayClaim } from '../claims.js';
import { html, layout, safeUrl } from '../../http/html.js';

/** The exact claims an app will receive for these scopes and claims-parameter names. */
export function claimsFor(scopes: string[], extraClaims: string[]): string[] {
  const out = new Set<string>();
  if (scopes.includes('openid')) out.add('sub');
  for (const s of scopes) for (const c of (SCOPE_CLAIMS as Record<string, readonly string[]>)[s] ?? []) out.add(c);
  for (const c of extraClaims) if (CLAIM_LABELS[c]) out.add(c);
  return [...out];
}

export interface ConsentView {
  uid: string;
  csrf: string;
  app: Application;
  bankName: string;
  claims: string[];
  values: Record<string, unknown>;
  offlineAccess: boolean;
}

export function renderConsent(v: ConsentView): string {
  const logo = safeUrl(v.app.logoUri);
  const action = `/interaction/${encodeURIComponent(v.uid)}/consent`;
  return layout({
    title: `Share your details with ${v.app.name}`,
    body: html`<section class="card">
  <div class="app-id">${logo ? html`<img src="${logo}" alt="${v.app.name} logo">` : ''}<h1>${v.app.name} wants to know who you are</h1></div>
  <p>${v.bankName} confirmed your identity. If you allow it, <strong>${v.app.name}</strong> will receive:</p>
  <dl class="claims">
    ${v.claims.map((c) => html`<dt>${CLAIM_LABELS[c] ?? c} <span class="muted">(${c})</span></dt><dd>${c === 'sub' ? 'a random identifier, not your bank details' : displayClaim(c, v.values[c])}</dd>`)}
  </dl>
  ${v.offlineAccess ? html`<p>It also asks to stay connected: it can get these details again without asking you, until you sign out.</p>` : ''}
  <form method="post" action="${action}" class="actions">
    <input type="hidden" name="csrf" value="${v.csrf}">
    <button class="primary" type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny">Deny</button>
  </form>
</section>`,
  });
}
