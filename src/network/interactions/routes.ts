/**
 * Login and consent UI for the network OP (kept apart from the protocol server):
 *   GET  /interaction/:uid          bank chooser (login prompt) or consent page
 *   POST /interaction/:uid/bank     start the chosen bank's login
 *   GET  /banks/callback            the bank's answer -> network login
 *   POST /interaction/:uid/consent  Allow / Deny
 * Once the interaction is known, every failure goes back to the app as an
 * OAuth error with its state (RFC 6749 §4.1.2.1); before that, an error page.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../log.js';
import type { Application, Bank, Store } from '../../store/store.js';
import { now } from '../../store/store.js';
import { connectorFor, BankError, type BankFailureKind } from '../../connectors/index.js';
import { eligibleBanks, findBank, LAST_BANK_COOKIE, renderChooser } from '../../chooser/chooser.js';
import { networkClaims } from '../claims.js';
import { claimsFor, renderConsent, requestedConsent, type ConsentRequest } from './consent.js';
import { errorPage } from '../../http/pages.js';
import { readForm } from '../../http/body.js';
import { hmac, safeEqual } from '../../http/crypto.js';
import { loginsCompleted, loginsFailed, loginsStarted } from '../../http/metrics.js';

type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;
type Grant = InstanceType<Provider['Grant']>;

/** The account of a bank login kept as this login interaction's result (consent still to come), if any. */
const bankLoginAccount = (d: InteractionDetails): string | undefined =>
  d.prompt.name === 'login' ? (d.result?.login as { accountId?: string } | undefined)?.accountId : undefined;

/** How long a started bank login may take before its transaction is swept. */
const TRANSACTION_TTL = 15 * 60;
const BANK_STATE_COOKIE = '_tl_bank_state';

const USER_MESSAGES: Record<BankFailureKind, string> = {
  access_denied: 'The sign-in was cancelled at the bank.',
  temporarily_unavailable: 'The bank is temporarily unavailable. Please try again later.',
  server_error: 'The bank sign-in could not be completed.',
};

export interface InteractionDeps {
  config: Config;
  store: Store;
  log: Logger;
  provider: () => Provider;
  csrfSecret: string;
}

export function interactionRoutes({ config, store, log, provider, csrfSecret }: InteractionDeps): Router {
  const router = new Router();
  const base = config.publicUrl.href.replace(/\/+$/, '');
  const callbackUrl = `${base}/banks/callback`;
  const secure = config.publicUrl.protocol === 'https:';
  const connectorOptions = { timeoutMs: config.bankTimeoutMs };

  const csrfFor = (uid: string) => hmac(csrfSecret, `interaction:${uid}`);
  const csrfOk = (uid: string, token: string | undefined) => safeEqual(csrfFor(uid), token);

  function page(ctx: Context, status: number, error: string, description?: string) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = errorPage({ error, description });
  }

  /** Loads the interaction bound to this browser; answers with an error page when there is none. */
  async function details(ctx: Context): Promise<InteractionDetails | undefined> {
    try {
      const d = await provider().interactionDetails(ctx.req, ctx.res);
      if (d.uid !== ctx.params.uid) {
        page(ctx, 400, 'session_not_found');
        return undefined;
      }
      return d;
    } catch (err) {
      log.debug({ err }, 'interaction not found');
      page(ctx, 400, 'session_not_found');
      return undefined;
    }
  }

  /** Ends the interaction with an OAuth error: the app receives it at its redirect_uri with its state. */
  async function fail(ctx: Context, error: string, description: string) {
    const returnTo = await provider().interactionResult(ctx.req, ctx.res, { error, error_description: description });
    ctx.status = 303;
    ctx.redirect(returnTo);
  }

  async function banksFor(clientId: string): Promise<Bank[]> {
    const app = await store.getApplication(clientId);
    return app ? eligibleBanks(await store.listBanks(), app) : [];
  }

  /** The session's grant to this app, if it belongs to this account (a grant of someone else's session does not count). */
  async function sessionGrant(grantId: string | undefined, accountId: string, clientId: unknown) {
    const grant = grantId ? await provider().Grant.find(grantId) : undefined;
    return grant && grant.accountId === accountId && grant.clientId === clientId ? grant : undefined;
  }

  /** What the request asks for that `grant` (if any) does not cover yet. */
  function missingConsent(params: Record<string, unknown>, grant: Grant | undefined): ConsentRequest {
    const wanted = requestedConsent(params);
    if (!grant) return wanted;
    const scopes = new Set(grant.getOIDCScopeEncountered().split(' '));
    const claims = new Set(grant.getOIDCClaimsEncountered());
    return { scopes: wanted.scopes.filter((x) => !scopes.has(x)), claims: wanted.claims.filter((x) => !claims.has(x)) };
  }

  async function startBankLogin(ctx: Context, d: InteractionDetails, bank: Bank) {
    loginsStarted.inc({ bank: bank.slug });
    try {
      const loginHint = typeof d.params.login_hint === 'string' ? d.params.login_hint : undefined;
      const { authorizationUrl, transaction } = await connectorFor(bank, connectorOptions).start({ redirectUri: callbackUrl, ...(loginHint ? { loginHint } : {}) });
      await store.putTransaction({ state: transaction.state, interactionUid: d.uid, bankId: bank.id, payload: transaction, expiresAt: now() + TRANSACTION_TTL });
      ctx.cookies.set(LAST_BANK_COOKIE, bank.slug, { maxAge: 365 * 24 * 3600 * 1000, httpOnly: true, sameSite: 'lax', secure, overwrite: true });
      // Remembers which bank login this browser started, so a callback whose
      // state matches nothing can still be answered to the right app (server_error).
      ctx.cookies.set(BANK_STATE_COOKIE, transaction.state, { maxAge: TRANSACTION_TTL * 1000, httpOnly: true, sameSite: 'lax', secure, signed: true, path: '/banks/callback', overwrite: true });
      ctx.status = 303;
      ctx.redirect(authorizationUrl.href);
    } catch (err) {
      const e = err instanceof BankError ? err : new BankError('server_error', String((err as Error)?.message ?? err), { cause: err });
      log.warn({ bank: bank.slug, kind: e.kind, reason: e.reason }, 'bank login could not start');
      loginsFailed.inc({ bank: bank.slug, error: e.kind });
      await fail(ctx, e.kind, USER_MESSAGES[e.kind]);
    }
  }

  async function consentPage(ctx: Context, uid: string, app: Application, accountId: string | undefined, pending: ConsentRequest) {
    const account = accountId ? await store.getAccount(accountId) : undefined;
    if (!account) return fail(ctx, 'login_required', 'The bank sign-in is no longer valid.');
    const bank = await store.getBank(account.bankId);
    ctx.type = 'html';
    ctx.body = renderConsent({
      uid,
      csrf: csrfFor(uid),
      app,
      bankName: bank?.name ?? 'Your bank',
      claims: claimsFor(pending.scopes, pending.claims),
      values: account.claims,
      offlineAccess: pending.scopes.includes('offline_access'),
    });
  }

  router.get('/interaction/:uid', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const app = await store.getApplication(String(d.params.client_id));
    if (!app) return fail(ctx, 'invalid_client', 'The application no longer exists.');
    ctx.set('Cache-Control', 'no-store');

    // After the bank login: consent, within the same interaction.
    const loggedIn = bankLoginAccount(d);
    if (loggedIn) {
      const pending = missingConsent(d.params, await sessionGrant(d.grantId, loggedIn, d.params.client_id));
      return consentPage(ctx, d.uid, app, loggedIn, pending);
    }

    if (d.prompt.name === 'login') {
      const banks = eligibleBanks(await store.listBanks(), app);
      const wanted = d.params.identity_provider_id;
      if (typeof wanted === 'string' && wanted) {
        const bank = findBank(banks, wanted);
        if (!bank) return fail(ctx, 'invalid_request', `identity_provider_id "${wanted}" is not a bank available to this application`);
        return startBankLogin(ctx, d, bank);
      }
      const last = ctx.cookies.get(LAST_BANK_COOKIE);
      ctx.type = 'html';
      ctx.body = renderChooser({
        uid: d.uid,
        csrf: csrfFor(d.uid),
        appName: app.name,
        appLogo: app.logoUri,
        banks,
        lastBank: last ? findBank(banks, last) : undefined,
        query: typeof ctx.query.q === 'string' ? ctx.query.q : undefined,
      });
      return;
    }

    if (d.prompt.name === 'consent') {
      const det = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      return consentPage(ctx, d.uid, app, d.session?.accountId, { scopes: det.missingOIDCScope ?? [], claims: det.missingOIDCClaims ?? [] });
    }
    return fail(ctx, 'server_error', 'Unexpected step in the sign-in.');
  });

  router.post('/interaction/:uid/bank', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const form = await readForm(ctx);
    if (!csrfOk(d.uid, form.csrf)) return page(ctx, 403, 'invalid_request', 'This form has expired. Go back and choose your bank again.');
    if (d.prompt.name !== 'login') return page(ctx, 400, 'invalid_request', 'This sign-in is not waiting for a bank.');
    const banks = await banksFor(String(d.params.client_id));
    const bank = form.bank ? findBank(banks, form.bank) : undefined;
    if (!bank) return page(ctx, 400, 'invalid_request', 'Choose one of the banks on the list.');
    return startBankLogin(ctx, d, bank);
  });

  router.get('/banks/callback', async (ctx) => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
    const started = ctx.cookies.get(BANK_STATE_COOKIE, { signed: true });
    // The transaction the bank's state names; failing that, the one this browser
    // started (the connector then rejects the mismatching state: server_error to the app).
    const tx = (state ? await store.takeTransaction(state) : undefined) ?? (started && started !== state ? await store.takeTransaction(started) : undefined);
    if (!tx) return page(ctx, 400, 'session_not_found', 'This bank sign-in has expired or was already used. Go back to the application and start again.');
    if (tx.state === started) ctx.cookies.set(BANK_STATE_COOKIE, null, { path: '/banks/callback', signed: true });
    const interaction = await provider().Interaction.find(tx.interactionUid);
    if (!interaction) return page(ctx, 400, 'session_not_found');
    const bank = await store.getBank(tx.bankId);

    /** Keeps the result with the interaction, then sends the browser on (by default: resume the authorization request). */
    const finishWith = async (result: Record<string, unknown>, next = interaction.returnTo) => {
      interaction.result = result;
      await interaction.save(Math.max(1, interaction.exp - now()));
      ctx.status = 303;
      ctx.redirect(next);
    };

    if (!bank) return finishWith({ error: 'server_error', error_description: USER_MESSAGES.server_error });
    try {
      const identity = await connectorFor(bank, connectorOptions).finish(new URL(`${callbackUrl}${ctx.search}`), tx.payload);
      const account = await store.upsertAccount(bank.id, identity.subject, networkClaims(identity));
      loginsCompleted.inc({ bank: bank.slug });
      const login = { accountId: account.id, amr: ['bank'], remember: true };
      // Consent is asked within this same interaction (one resume of the
      // authorization request instead of two). oidc-provider still checks the
      // grant when the request resumes and asks again itself if it falls short.
      const sessionAccount = interaction.session?.accountId;
      if (sessionAccount && sessionAccount !== account.id) return finishWith({ login });
      const pending = missingConsent(interaction.params, await sessionGrant(interaction.grantId, account.id, interaction.params.client_id));
      if (!pending.scopes.length && !pending.claims.length) return finishWith({ login });
      return finishWith({ login }, `${base}/interaction/${encodeURIComponent(interaction.uid)}`);
    } catch (err) {
      const e = err instanceof BankError ? err : new BankError('server_error', String((err as Error)?.message ?? err), { cause: err });
      (e.kind === 'access_denied' ? log.info.bind(log) : log.warn.bind(log))({ bank: bank.slug, kind: e.kind, reason: e.reason }, 'bank login failed');
      loginsFailed.inc({ bank: bank.slug, error: e.kind });
      return finishWith({ error: e.kind, error_description: USER_MESSAGES[e.kind] });
    }
  });

  router.post('/interaction/:uid/consent', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const form = await readForm(ctx);
    if (!csrfOk(d.uid, form.csrf)) return page(ctx, 403, 'invalid_request', 'This form has expired. Go back to the application and start again.');
    const loggedIn = bankLoginAccount(d);
    if (d.prompt.name !== 'consent' && !loggedIn) return page(ctx, 400, 'invalid_request', 'This sign-in is not waiting for your consent.');
    if (form.decision !== 'allow') return fail(ctx, 'access_denied', 'The user denied the request.');

    const p = provider();
    const clientId = String(d.params.client_id);
    // Consent within the login interaction (see /banks/callback), or after oidc-provider's own consent prompt.
    const accountId = loggedIn ?? d.session!.accountId!;
    const existing = await sessionGrant(d.grantId, accountId, clientId);
    let det: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (loggedIn) {
      const pending = missingConsent(d.params, existing);
      det = { missingOIDCScope: pending.scopes, missingOIDCClaims: pending.claims };
    } else {
      det = d.prompt.details as typeof det;
    }
    const grant = existing ?? new p.Grant({ accountId, clientId });
    if (det.missingOIDCScope?.length) grant.addOIDCScope(det.missingOIDCScope.join(' '));
    if (det.missingOIDCClaims?.length) grant.addOIDCClaims(det.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(det.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    // In the login interaction the bank login is this interaction's own result
    // (saved by /banks/callback); after a consent prompt it is the last submission.
    const returnTo = loggedIn
      ? await p.interactionResult(ctx.req, ctx.res, { ...d.result, consent: { grantId } })
      : await p.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  return router;
}
