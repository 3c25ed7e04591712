/**
 * The user's guide's console walk ("Set up IDPartner"), word for word, in a real
 * browser (Debian's chromium, headless, driven by playwright-core), with this
 * node in place of IDPartner's hosts:
 *
 *   Sign up -> "Verify account" link in the email (a real SMTP catcher) ->
 *   Sign in -> "Register an OTP" -> recovery codes -> "Applications" in the
 *   left panel -> "+ Add Sandbox application" -> client_secret_basic, name
 *   "Auth0 social connection", logo, origin URL, redirect URL -> "Next step" ->
 *   "Create application" -> the client ID and secret on the record page.
 *
 * Then the application those credentials describe signs a person in for real
 * (openid-client as the app, Mikomo Bank through the chooser, consent), as
 * Auth0's connection would. Screenshots of each console page at 375px and
 * 1280px go to docs/screenshots/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { linkIn, startSmtpCatcher, type SmtpCatcher } from '../helpers/smtp.js';
import { totpFor } from '../../src/console/otp.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const WIDTHS = [375, 1280] as const;
const HEIGHT = 900;
const TIMEOUT = 15_000;

const EMAIL = 'newcomer@example.com';
const PASSWORD = 'copper-kettle-meadow-41';
const APP_NAME = 'Auth0 social connection';

let smtp: SmtpCatcher;
let handle: TestStoreHandle;
let net: TestNetwork;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const offLoopback: string[] = [];
/** Console errors (CSP violations, script errors) and failed requests. */
const problems: string[] = [];
/** 4xx/5xx answers, checked separately: the app's callback (not served by this node) may be one. */
const failed: { status: number; url: string; document: boolean }[] = [];

const isLoopback = (u: string) => {
  try {
    const { protocol, hostname } = new URL(u);
    if (protocol === 'data:' || protocol === 'about:' || protocol === 'blob:') return true;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
  } catch {
    return false;
  }
};

/** Full-page screenshots of the current page at each width (which must not scroll sideways); leaves the viewport at 1280px. */
async function screenshots(name: string) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= width, `${name} at ${width}px scrolls sideways (${scrollWidth}px wide)`);
    await page.screenshot({ path: `${SCREENSHOTS}${name}-${width}.png`, fullPage: true, animations: 'disabled' });
  }
}

const heading = (name: string) => page.getByRole('heading', { name, exact: true, level: 1 }).waitFor();
const path = () => new URL(page.url()).pathname;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  smtp = await startSmtpCatcher();
  handle = await openTestStore();
  net = await startTestNetwork(handle.store, { SMTP_URL: smtp.url });
  browser = await chromium.launch({
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
  context = await browser.newContext({ viewport: { width: 1280, height: HEIGHT }, locale: 'en-US' });
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
});

after(async () => {
  await page?.close().catch(() => {});
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await net?.close();
  await handle?.cleanup();
  await smtp?.close();
  assert.deepEqual(offLoopback, [], 'the browser only talks to the test node');
});

test('a newcomer follows the guide: console sign-up, OTP, "Auth0 social connection", then a real login with its credentials', async () => {
  const logoUrl = `${net.url}/static/favicon.svg`;
  const originUrl = `${net.url}/oidc-proxy/proxy/auth0/auth`;
  const redirectUrl = `${net.url}/oidc-proxy/proxy/auth0/callback`;

  // ---- Prerequisites: "Sign up for an account."
  await page.goto(`${net.url}/console`);
  await page.getByRole('link', { name: 'Sign up', exact: true }).click();
  await heading('Sign up');
  assert.equal(path(), '/console/signup');
  await screenshots('console-signup');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await heading('Check your inbox');

  // "Verify your email by clicking on the "verify account" link in your inbox."
  const mail = await smtp.waitFor(EMAIL, { timeoutMs: TIMEOUT });
  assert.match(mail.text, /Verify account/);
  const verify = linkIn(mail, '/console/verify');
  assert.ok(verify.startsWith(`${net.url}/console/verify?token=`), `the link points at this node: ${verify}`);
  await page.goto(verify);
  await heading('Account verified');

  // "Sign in to your account and register an OTP."
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await heading('Sign in');
  assert.equal(path(), '/console/login');
  await screenshots('console-login');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  await heading('Register an OTP');
  assert.equal(path(), '/console/otp/register');
  assert.ok(await page.getByRole('img', { name: 'QR code of your OTP secret' }).isVisible(), 'a QR code to scan');
  const secret = (await page.locator('#otp-secret').textContent())?.trim() ?? '';
  assert.match(secret, /^[A-Z2-7]{16,}$/, 'a base32 secret shown as text');
  await screenshots('console-register-otp');
  await page.getByLabel('Verification code').fill(totpFor(secret, EMAIL).generate());
  await page.getByRole('button', { name: 'Verify', exact: true }).click();

  await heading('Save your recovery codes');
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  await page.getByRole('link', { name: 'Continue', exact: true }).click();

  // ---- Set up: "Click on "Applications" in the left panel."
  await heading('Applications');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Applications', exact: true }).click();
  await heading('Applications');
  assert.equal(path(), '/console/applications');
  await screenshots('console-applications');

  // "Click on "+ Add Sandbox application" in the top right corner."
  await page.getByRole('link', { name: '+ Add Sandbox application', exact: true }).click();
  await heading('Add Sandbox application');
  assert.equal(path(), '/console/applications/new');

  // "Select "client_secret_basic" as the authentication method."
  await page.getByRole('radio', { name: 'client_secret_basic', exact: true }).check();
  // "Provide an application name for the "Auth0 social connection"."
  await page.getByLabel('Application name', { exact: true }).fill(APP_NAME);
  // "Add a valid URL for the logo of your application."
  await page.getByLabel('Application logo', { exact: true }).fill(logoUrl);
  // "Set "…/oidc-proxy/proxy/auth0/auth" as the origin URL."
  await page.getByLabel('Origin URL', { exact: true }).fill(originUrl);
  // "Set "…/oidc-proxy/proxy/auth0/callback" as the redirect URL."
  await page.getByLabel('Redirect URL', { exact: true }).fill(redirectUrl);
  await screenshots('console-new-application');

  // "Click the "Next step" button."
  await page.getByRole('button', { name: 'Next step', exact: true }).click();
  await heading('Review your application');
  const review = page.locator('dl.review');
  assert.match((await review.textContent()) ?? '', /client_secret_basic/);
  assert.match((await review.textContent()) ?? '', new RegExp(APP_NAME));
  assert.ok(await review.getByText(redirectUrl, { exact: true }).isVisible(), 'the redirect URL is shown for review');
  await screenshots('console-review');

  // "Click the "Create application" button."
  await page.getByRole('button', { name: 'Create application', exact: true }).click();

  // "Take note of the client_id and client_secret from the "Auth0 social connection" record."
  await heading(APP_NAME);
  assert.match(path(), /^\/console\/applications\/[^/]+$/);
  const credentials = page.getByRole('region', { name: 'Credentials' });
  const valueNextTo = (label: string) => credentials.locator('dt', { hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]').locator('code').first();
  const clientId = ((await valueNextTo('Client ID').textContent()) ?? '').trim();
  const clientSecret = ((await valueNextTo('Client secret').textContent()) ?? '').trim();
  assert.ok(clientId, 'a client ID');
  assert.ok(clientSecret.length >= 32, 'a client secret');
  assert.equal(decodeURIComponent(path().split('/').at(-1)!), clientId);
  assert.ok(await page.getByText('Copy the client secret now: it is shown only once.').isVisible());
  await screenshots('console-application');

  // The list now holds the record.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Applications', exact: true }).click();
  await heading('Applications');
  assert.ok(await page.getByRole('link', { name: APP_NAME, exact: true }).isVisible());

  // ---- The credentials work: a real login, as Auth0's connection would do it.
  const config = await client.discovery(new URL(net.issuer), clientId, clientSecret, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests],
    timeout: 5,
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUrl,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  await page.goto(authUrl.href);
  await heading('Choose your bank');
  await page.getByRole('button', { name: 'Mikomo Bank', exact: true }).click();
  await heading('Sign in to Mikomo Bank');
  await page.getByLabel('Username').fill('mikomo_10');
  await page.getByLabel('Password').fill('mikomo_10');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(`${APP_NAME} wants to know who you are`);
  const atCallback = page.waitForResponse((r) => r.url().startsWith(`${redirectUrl}?`) && r.request().resourceType() === 'document');
  await page.getByRole('button', { name: 'Allow', exact: true }).click();

  // The browser lands on the redirect URL. The app here is this test, not a
  // page: whatever this node answers at that address (404 while nothing serves
  // it; 400 "session_not_found" from the Auth0 proxy, since this sign-in did
  // not start at its /auth) must not touch the code, which the test redeems.
  await page.waitForURL((u) => u.href.startsWith(`${redirectUrl}?`), { waitUntil: 'commit' });
  const callbackStatus = (await atCallback).status();
  const callback = new URL(page.url());
  assert.equal(callback.searchParams.get('error'), null, `the login failed: ${callback.href}`);
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  const claims = tokens.claims();
  assert.ok(claims, 'an ID token');
  assert.equal(claims.email, 'PhilipHLovett@mikomotest.com');
  assert.equal(claims.aud, clientId);
  assert.equal(claims.iss, net.issuer);

  assert.deepEqual(problems, [], 'no console errors');
  // Only the callback document may answer with an error, once, and only 404 or 400 (see above).
  const isCallback = (f: (typeof failed)[number]) => f.document && f.url.startsWith(`${redirectUrl}?`) && [400, 404].includes(f.status);
  assert.deepEqual(failed.filter((f) => !isCallback(f)), [], 'no failed requests but the callback');
  assert.ok(failed.length <= 1, `at most one failed request (the callback): ${JSON.stringify(failed)}`);
  assert.ok(callbackStatus < 400 || failed.length === 1, `the callback answered ${callbackStatus}`);
});
