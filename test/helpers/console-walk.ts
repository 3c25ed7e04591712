/**
 * Shared pieces of the browser tests (launchBrowser and screenshots serve all of them):
 *
 *   - launchBrowser(): Debian's chromium (never a downloaded one), headless,
 *     with only loopback resolvable, plus the observers the tests check at the
 *     end (requests off loopback, console errors, 4xx/5xx answers);
 *   - screenshots(): full-page (or one element's) screenshots at 375px and
 *     1280px into docs/screenshots/, failing when the page scrolls sideways;
 *   - consoleWalk(): the user's guide's "Set up" steps, word for word: Sign up
 *     -> "Verify account" link in the email (a real SMTP catcher) -> Sign in ->
 *     "Register an OTP" -> recovery codes -> "Applications" in the left panel ->
 *     "+ Add Sandbox application" -> client_secret_basic, name, logo, origin
 *     URL, redirect URL -> "Next step" -> "Create application" -> the client ID
 *     and the client secret (shown once) on the record page, where it stops.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { TestNetwork } from './network.js';
import { linkIn, type SmtpCatcher } from './smtp.js';
import { totpFor } from '../../src/console/otp.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
export const WIDTHS = [375, 1280] as const;
export const HEIGHT = 900;
/** Every wait (locators, navigations) is bounded by this. */
export const TIMEOUT = 15_000;

export const isLoopback = (u: string): boolean => {
  try {
    const { protocol, hostname } = new URL(u);
    if (protocol === 'data:' || protocol === 'about:' || protocol === 'blob:') return true;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
  } catch {
    return false;
  }
};

export interface FailedResponse {
  status: number;
  url: string;
  document: boolean;
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Requests the browser tried to send anywhere but loopback (must stay empty). */
  offLoopback: string[];
  /** Console errors (CSP violations, script errors) and page errors. */
  problems: string[];
  /** 4xx/5xx answers (but Chromium's own /favicon.ico), checked by each test as it sees fit. */
  failed: FailedResponse[];
  close(): Promise<void>;
}

/** Chromium with the browser tests' flags; one context, one page, bounded waits. */
export async function launchBrowser(opts: { permissions?: string[] } = {}): Promise<BrowserSession> {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Nothing but loopback resolves: the browser cannot reach anything else.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
  const offLoopback: string[] = [];
  const problems: string[] = [];
  const failed: FailedResponse[] = [];
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  try {
    context = await browser.newContext({ viewport: { width: 1280, height: HEIGHT }, locale: 'en-US', ...(opts.permissions ? { permissions: opts.permissions } : {}) });
    context.setDefaultTimeout(TIMEOUT);
    context.setDefaultNavigationTimeout(TIMEOUT);
    context.on('request', (r) => {
      if (!isLoopback(r.url())) offLoopback.push(r.url());
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // Failed requests are reported (with their URL) by the response handler below.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      // Chromium asks for /favicon.ico on its own; TrustLane has none.
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') {
        failed.push({ status: r.status(), url: r.url(), document: r.request().resourceType() === 'document' });
      }
    });
    page.setDefaultTimeout(TIMEOUT);
    page.setDefaultNavigationTimeout(TIMEOUT);
  } catch (err) {
    await browser.close().catch(() => {});
    throw err;
  }
  const ctx = context;
  const pg = page;
  return {
    browser,
    context: ctx,
    page: pg,
    offLoopback,
    problems,
    failed,
    async close() {
      await pg.close().catch(() => {});
      await ctx.close().catch(() => {});
      await browser.close().catch(() => {});
    },
  };
}

/**
 * Screenshots of the current page at each width (which must not scroll
 * sideways): the full page, or only `element` when given. Leaves the viewport
 * at 1280px.
 */
export async function screenshots(page: Page, name: string, element?: Locator): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= width, `${name} at ${width}px scrolls sideways (${scrollWidth}px wide)`);
    const path = `${SCREENSHOTS}${name}-${width}.png`;
    if (element) await element.screenshot({ path, animations: 'disabled' });
    else await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  }
}

/** Waits for the page's h1. */
export const heading = (page: Page, name: string) => page.getByRole('heading', { name, exact: true, level: 1 }).waitFor();
export const pathOf = (page: Page) => new URL(page.url()).pathname;

export interface ConsoleWalk {
  net: TestNetwork;
  smtp: SmtpCatcher;
  email: string;
  password: string;
  appName: string;
  logoUrl: string;
  originUrl: string;
  redirectUrl: string;
  /** Called on each console page worth a screenshot (signup, login, …); nothing when absent. */
  shoot?: (name: string) => Promise<void>;
}

/**
 * The guide's console walk in `page`, from the console's front door to the new
 * application's record page (where it stops, with the secret still shown).
 */
export async function consoleWalk(page: Page, w: ConsoleWalk): Promise<{ clientId: string; clientSecret: string }> {
  const { net, smtp } = w;
  const shoot = w.shoot ?? (async () => {});
  const h1 = (name: string) => heading(page, name);
  const path = () => pathOf(page);

  // ---- Prerequisites: "Sign up for an account."
  await page.goto(`${net.url}/console`);
  await page.getByRole('link', { name: 'Sign up', exact: true }).click();
  await h1('Sign up');
  assert.equal(path(), '/console/signup');
  await shoot('console-signup');
  await page.getByLabel('Email').fill(w.email);
  await page.getByLabel('Password').fill(w.password);
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await h1('Check your inbox');

  // "Verify your email by clicking on the "verify account" link in your inbox."
  const mail = await smtp.waitFor(w.email, { timeoutMs: TIMEOUT });
  assert.match(mail.text, /Verify account/);
  const verify = linkIn(mail, '/console/verify');
  assert.ok(verify.startsWith(`${net.url}/console/verify?token=`), `the link points at this node: ${verify}`);
  await page.goto(verify);
  await h1('Account verified');

  // "Sign in to your account and register an OTP."
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await h1('Sign in');
  assert.equal(path(), '/console/login');
  await shoot('console-login');
  await page.getByLabel('Email').fill(w.email);
  await page.getByLabel('Password').fill(w.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  await h1('Register an OTP');
  assert.equal(path(), '/console/otp/register');
  assert.ok(await page.getByRole('img', { name: 'QR code of your OTP secret' }).isVisible(), 'a QR code to scan');
  const secret = (await page.locator('#otp-secret').textContent())?.trim() ?? '';
  assert.match(secret, /^[A-Z2-7]{16,}$/, 'a base32 secret shown as text');
  await shoot('console-register-otp');
  await page.getByLabel('Verification code').fill(totpFor(secret, w.email).generate());
  await page.getByRole('button', { name: 'Verify', exact: true }).click();

  await h1('Save your recovery codes');
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  await page.getByRole('link', { name: 'Continue', exact: true }).click();

  // ---- Set up: "Click on "Applications" in the left panel."
  await h1('Applications');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Applications', exact: true }).click();
  await h1('Applications');
  assert.equal(path(), '/console/applications');
  await shoot('console-applications');

  // "Click on "+ Add Sandbox application" in the top right corner."
  await page.getByRole('link', { name: '+ Add Sandbox application', exact: true }).click();
  await h1('Add Sandbox application');
  assert.equal(path(), '/console/applications/new');

  // "Select "client_secret_basic" as the authentication method."
  await page.getByRole('radio', { name: 'client_secret_basic', exact: true }).check();
  // "Provide an application name for the "Auth0 social connection"."
  await page.getByLabel('Application name', { exact: true }).fill(w.appName);
  // "Add a valid URL for the logo of your application."
  await page.getByLabel('Application logo', { exact: true }).fill(w.logoUrl);
  // "Set "…/oidc-proxy/proxy/auth0/auth" as the origin URL."
  await page.getByLabel('Origin URL', { exact: true }).fill(w.originUrl);
  // "Set "…/oidc-proxy/proxy/auth0/callback" as the redirect URL."
  await page.getByLabel('Redirect URL', { exact: true }).fill(w.redirectUrl);
  await shoot('console-new-application');

  // "Click the "Next step" button."
  await page.getByRole('button', { name: 'Next step', exact: true }).click();
  await h1('Review your application');
  const review = page.locator('dl.review');
  assert.match((await review.textContent()) ?? '', /client_secret_basic/);
  assert.ok(((await review.textContent()) ?? '').includes(w.appName), 'the name is shown for review');
  assert.ok(await review.getByText(w.redirectUrl, { exact: true }).isVisible(), 'the redirect URL is shown for review');
  await shoot('console-review');

  // "Click the "Create application" button."
  await page.getByRole('button', { name: 'Create application', exact: true }).click();

  // "Take note of the client_id and client_secret from the "Auth0 social connection" record."
  await h1(w.appName);
  assert.match(path(), /^\/console\/applications\/[^/]+$/);
  const credentials = page.getByRole('region', { name: 'Credentials' });
  const valueNextTo = (label: string) => credentials.locator('dt', { hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]').locator('code').first();
  const clientId = ((await valueNextTo('Client ID').textContent()) ?? '').trim();
  const clientSecret = ((await valueNextTo('Client secret').textContent()) ?? '').trim();
  assert.ok(clientId, 'a client ID');
  assert.ok(clientSecret.length >= 32, 'a client secret');
  assert.equal(decodeURIComponent(path().split('/').at(-1)!), clientId);
  assert.ok(await page.getByText('Copy the client secret now: it is shown only once.').isVisible());
  await shoot('console-application');
  return { clientId, clientSecret };
}
