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
 * 1280px go to docs/screenshots/. The walk itself is consoleWalk() in
 * test/helpers/console-walk.ts (shared with auth0.browser.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { startSmtpCatcher, type SmtpCatcher } from '../helpers/smtp.js';
import { consoleWalk, heading as headingIn, launchBrowser, screenshots as screenshotsOf, type BrowserSession } from '../helpers/console-walk.js';

const EMAIL = 'newcomer@example.com';
const PASSWORD = 'copper-kettle-meadow-41';
const APP_NAME = 'Auth0 social connection';

let smtp: SmtpCatcher;
let handle: TestStoreHandle;
let net: TestNetwork;
let session: BrowserSession;
let page: Page;

/** Full-page screenshots of the current page at 375px and 1280px (which must not scroll sideways). */
const screenshots = (name: string) => screenshotsOf(page, name);
const heading = (name: string) => headingIn(page, name);

before(async () => {
  smtp = await startSmtpCatcher();
  handle = await openTestStore();
  net = await startTestNetwork(handle.store, { SMTP_URL: smtp.url });
  session = await launchBrowser();
  page = session.page;
});

after(async () => {
  await session?.close();
  await net?.close();
  await handle?.cleanup();
  await smtp?.close();
  if (session) assert.deepEqual(session.offLoopback, [], 'the browser only talks to the test node');
});

test('a newcomer follows the guide: console sign-up, OTP, "Auth0 social connection", then a real login with its credentials', async () => {
  const logoUrl = `${net.url}/static/favicon.svg`;
  const originUrl = `${net.url}/oidc-proxy/proxy/auth0/auth`;
  const redirectUrl = `${net.url}/oidc-proxy/proxy/auth0/callback`;
  const { problems, failed } = session;

  // ---- The guide's console walk, word for word, with a screenshot of each page.
  const { clientId, clientSecret } = await consoleWalk(page, {
    net,
    smtp,
    email: EMAIL,
    password: PASSWORD,
    appName: APP_NAME,
    logoUrl,
    originUrl,
    redirectUrl,
    shoot: screenshots,
  });

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
