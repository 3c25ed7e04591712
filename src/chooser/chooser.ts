/**
 * The bank chooser: which banks an application may offer, the search filter,
 * the bank this browser chose last time, and the "Choose your bank" page.
 */
import type { Application, Bank } from '../store/store.js';
import { html, layout, safeUrl } from '../http/html.js';

export const LAST_BANK_COOKIE = 'tl_last_bank';

/**
 * Banks an application may use: visible ones, and sandbox banks only for
 * sandbox applications (production applications get production banks only;
 * sandbox applications get sandbox banks only, so no real customer data ever
 * reaches an application that has not been reviewed for production).
 */
export function eligibleBanks(banks: Bank[], app: Pick<Application, 'kind'>): Bank[] {
  return banks.filter((b) => b.visible && (app.kind === 'sandbox' ? b.sandbox : !b.sandbox));
}

/** Finds a bank by id or slug among the eligible ones (identity_provider_id accepts both). */
export function findBank(banks: Bank[], idOrSlug: string): Bank | undefined {
  return banks.find((b) => b.id === idOrSlug || b.slug === idOrSlug);
}

const searchText = (b: Bank) => [b.name, b.slug, ...b.countries].join(' ').toLowerCase();

export function filterBanks(banks: Bank[], q: string | undefined): Bank[] {
  const needle = q?.trim().toLowerCase();
  return needle ? banks.filter((b) => searchText(b).includes(needle)) : banks;
}

export interface ChooserView {
  uid: string;
  csrf: string;
  appName: string;
  appLogo: string | null;
  banks: Bank[];
  lastBank: Bank | undefined;
  query: string | undefined;
}

function bankButton(b: Bank, label: string) {
  const logo = safeUrl(b.logoUrl) ?? (b.logoUrl?.startsWith('/') ? b.logoUrl : undefined);
  return html`<button type="submit" name="bank" value="${b.slug}" data-bank-id="${b.id}">${logo ? html`<img src="${logo}" alt="" width="32" height="32">` : ''}<span>${label}</span></button>`;
}

export function renderChooser(v: ChooserView): string {
  const shown = filterBanks(v.banks, v.query);
  const action = `/interaction/${encodeURIComponent(v.uid)}/bank`;
  const appLogo = safeUrl(v.appLogo);
  return layout({
    title: 'Choose your bank',
    scripts: ['/static/chooser.js'],
    body: html`<section class="card">
  <div class="app-id">${appLogo ? html`<img src="${appLogo}" alt="">` : ''}<p class="muted">Sign in to <strong>${v.appName}</strong> with your bank</p></div>
  <h1>Choose your bank</h1>
  ${
    v.lastBank
      ? html`<form method="post" action="${action}" class="last-bank">
    <input type="hidden" name="csrf" value="${v.csrf}">
    ${bankButton(v.lastBank, `Continue with ${v.lastBank.name}`)}
  </form>`
      : ''
  }
  <form method="get" action="/interaction/${encodeURIComponent(v.uid)}" class="search" role="search">
    <div><label for="bank-search">Search banks</label>
    <input type="search" id="bank-search" name="q" value="${v.query ?? ''}" autocomplete="off"></div>
    <button type="submit">Search</button>
  </form>
  <form method="post" action="${action}">
    <input type="hidden" name="csrf" value="${v.csrf}">
    <ul class="bank-list" aria-label="Banks">
      ${v.banks.map((b) => html`<li data-search="${searchText(b)}"${shown.includes(b) ? '' : html` hidden`}>${bankButton(b, b.name)}</li>`)}
    </ul>
  </form>
  <p id="no-banks" class="muted" aria-live="polite"${shown.length ? html` hidden` : ''}>No bank matches your search.</p>
</section>`,
  });
}
