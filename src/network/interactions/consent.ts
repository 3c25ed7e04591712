import type { Application } from '../../store/store.js';
import { CLAIM_LABELS, SCOPES, SCOPE_CLAIMS, displayClaim } from '../claims.js';
import { html, layout, safeUrl } from '../../http/html.js';

/** The exact claims an app will receive for these scopes and claims-parameter names. */
export function claimsFor(scopes: string[], extraClaims: string[]): string[] {
  const out = new Set<string>();
  if (scopes.includes('openid')) out.add('sub');
  for (const s of scopes) for (const c of (SCOPE_CLAIMS as Record<string, readonly string[]>)[s] ?? []) out.add(c);
  for (const c of extraClaims) if (CLAIM_LABELS[c]) out.add(c);
  return [...out];
}

export interface ConsentRequest {
  /** OIDC scopes (openid, offline_access, the claim scopes) */
  scopes: string[];
  /** claims named in the claims parameter (OIDC Core 5.5) */
  claims: string[];
}

const KNOWN_SCOPES = new Set(SCOPES);
/** Claims that need no consent, as oidc-provider's op_claims_missing check has it. */
const NO_CONSENT_CLAIMS = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss']);

/**
 * What an authorization request asks the user to consent to, read from its
 * parameters the way oidc-provider's consent checks read them
 * (op_scopes_missing, op_claims_missing).
 */
export function requestedConsent(params: Record<string, unknown>): ConsentRequest {
  const scopes = typeof params.scope === 'string' ? [...new Set(params.scope.split(' ').filter((s) => KNOWN_SCOPES.has(s)))] : [];
  const claims = new Set<string>();
  if (typeof params.claims === 'string') {
    try {
      const parsed = JSON.parse(params.claims) as { userinfo?: Record<string, unknown>; id_token?: Record<string, unknown> };
      for (const member of [parsed.userinfo, parsed.id_token]) {
        if (!member || typeof member !== 'object') continue;
        for (const [claim, value] of Object.entries(member)) {
          if (CLAIM_LABELS[claim] && !NO_CONSENT_CLAIMS.has(claim) && (value === null || (typeof value === 'object' && !Array.isArray(value)))) claims.add(claim);
        }
      }
    } catch {
      // oidc-provider has already rejected a malformed claims parameter.
    }
  }
  return { scopes, claims: [...claims] };
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
