/**
 * integrations/auth0/installation_guide.md end to end in ONE real browser
 * (Debian's chromium, headless, driven by playwright-core; loopback only):
 *
 *  1. "Set up TrustLane": the console walk (consoleWalk(), the same as
 *     console-seed.browser.test.ts), creating "Auth0 social connection" with
 *     the proxy's origin and redirect URLs, and noting the Client secret shown
 *     once on the record;
 *  2. "Add the Connection": the values of the application page's "Auth0 setup"
 *     panel, as its Copy buttons put them on the clipboard, typed into an Auth0
 *     custom social connection (the Auth0 emulator, test/helpers/auth0-emulator.ts,
 *     in the Management API's shape) with "Separate scopes using a space" and
 *     "Sync user profile attributes at each login" on;
 *  3. "Test Connection": an app sends the browser to Auth0's /authorize with
 *     that connection; the real TrustLane pages (chooser, Mikomo Bank, consent)
 *     follow, then the proxy returns to Auth0's /login/callback, which runs the
 *     pasted script and shows the Auth0 user. A second login gives the same user.
 *  4. Screenshots of the Auth0 setup panel at 375px and 1280px go to
 *     docs/screenshots/ (console-auth0-setup-*.png); the page must not scroll
 *     sideways.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import { openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { startSmtpCatcher, type SmtpCatcher } from '../helpers/smtp.js';
import { consoleWalk, heading as headingIn, launchBrowser, pathOf, screenshots, TIMEOUT, type BrowserSession } from '../helpers/console-walk.js';
import { startAuth0Emulator, type Auth0Connection, type Auth0Emulator, type Auth0User } from '../helpers/auth0-emulator.js';

const EMAIL = 'auth0-admin@example.com';
const PASSWORD = 'harbor-lantern-thistle-58';
const APP_NAME = 'Auth0 social connection';
/** "Set a name for the connection, for example `trustlane`." */
const CONNECTION = 'trustlane';
const PERSON = { username: 'mikomo_10', email: 'PhilipHLovett@mikomotest.com' };

let smtp: SmtpCatcher;
let handle: TestStoreHandle;
let net: TestNetwork;
let session: BrowserSession;
let page: Page;
let emu: Auth0Emulator | undefined;

const heading = (name: string) => headingIn(page, name);

before(async () => {
  smtp = await startSmtpCatcher();
  handle = await openTestStore();
  net = await startTestNetwork(handle.store, { SMTP_URL: smtp.url });
  // The Copy buttons write to the clipboard; the test reads it back as the admin's paste.
  session = await launchBrowser({ permissions: ['clipboard-read', 'clipboard-write'] });
  page = session.page;
});

after(async () => {
  await session?.close();
  await emu?.close();
  await net?.close();
  await handle?.cleanup();
  await smtp?.close();
  if (session) assert.deepEqual(session.offLoopback, [], 'the browser only talks to 127.0.0.1');
});

/** Clicks the Copy button for `id` in the panel and returns what it put on the clipboard (checked against the text shown). */
async function copied(panel: Locator, id: string): Promise<string> {
  const shown = (await panel.locator(`#${id}`).textContent()) ?? '';
  const button = panel.locator(`button[data-copy="${id}"]`);
  await page.evaluate(() => navigator.clipboard.writeText(''));
  await button.click();
  await button.filter({ hasText: 'Copied' }).waitFor({ timeout: TIMEOUT });
  const pasted = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(pasted, shown, `the Copy button of #${id} copies what is shown`);
  return pasted;
}

/** The app's side: sends the browser to Auth0's /authorize for this connection. */
function authorizeUrl(emulator: Auth0Emulator, appState: string): string {
  const u = new URL(`${emulator.url}/authorize`);
  u.searchParams.set('client_id', 'the-app-at-auth0');
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('redirect_uri', 'http://127.0.0.1:1/app/callback');
  u.searchParams.set('scope', 'openid profile email');
  u.searchParams.set('connection', CONNECTION);
  u.searchParams.set('state', appState);
  return u.href;
}

/** The Auth0 user on the emulator's result page (after checking it is one, not an error). */
async function auth0UserShown(emulator: Auth0Emulator): Promise<Auth0User> {
  await page.waitForURL((u) => u.href.startsWith(`${emulator.url}/result/`));
  const error = page.locator('pre#auth0-error');
  if ((await error.count()) > 0) assert.fail(`Auth0 reports an error: ${await error.textContent()}`);
  await heading(`Signed in with ${CONNECTION}`);
  return JSON.parse((await page.locator('pre#auth0-user').textContent()) ?? '') as Auth0User;
}

test('the Auth0 installation guide in one browser: console walk, the Auth0 setup panel typed into an Auth0 connection, a real bank login through it', async () => {
  const { problems, failed } = session;
  const originUrl = `${net.url}/oidc-proxy/proxy/auth0/auth`;
  const redirectUrl = `${net.url}/oidc-proxy/proxy/auth0/callback`;

  // ---- 1. "Set up TrustLane": the console walk; the secret is shown once, on the record.
  const { clientId, clientSecret } = await consoleWalk(page, {
    net,
    smtp,
    email: EMAIL,
    password: PASSWORD,
    appName: APP_NAME,
    logoUrl: `${net.url}/static/favicon.svg`,
    originUrl,
    redirectUrl,
  });

  // ---- 2. Back on the application's page (as after a trip to the Auth0 dashboard): the Auth0 setup panel.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Applications', exact: true }).click();
  await heading('Applications');
  await page.getByRole('link', { name: APP_NAME, exact: true }).click();
  await heading(APP_NAME);
  assert.equal(decodeURIComponent(pathOf(page).split('/').at(-1)!), clientId);
  assert.equal(await page.locator('#client-secret').count(), 0, 'the secret is not shown again');

  const panel = page.getByRole('region', { name: 'Auth0 setup', exact: true });
  await panel.waitFor();
  assert.equal(await panel.getByRole('alert').count(), 0, 'the panel sees nothing to fix in this application');
  // ---- 4. Screenshots of the panel at 375px and 1280px (before any Copy click; the page must not scroll sideways).
  await screenshots(page, 'console-auth0-setup', panel);

  const authorizationURL = await copied(panel, 'auth0-authorization-url');
  const tokenURL = await copied(panel, 'auth0-token-url');
  const scope = await copied(panel, 'auth0-scope');
  const panelClientId = await copied(panel, 'auth0-client-id');
  const fetchUserProfile = await copied(panel, 'auth0-script');
  assert.ok(await panel.getByText('Turn on "Separate scopes using a space"', { exact: false }).isVisible(), 'the panel says to separate scopes with a space');

  // What the panel shows is what the guide names (read, not computed; checked here).
  assert.equal(authorizationURL, `${net.url}/oidc-proxy/proxy/auth0/auth`);
  assert.equal(tokenURL, `${net.url}/oidc-proxy/proxy/auth0/token`);
  assert.equal(scope, 'openid email profile');
  assert.equal(panelClientId, clientId, 'the panel shows the Credentials\' client ID');
  assert.match(fetchUserProfile, /^function \(accessToken, ctx, callback\) \{/, 'the script is in the form Auth0\'s field takes');
  assert.ok(fetchUserProfile.includes(`'${net.url}/oidc-proxy/proxy/auth0/me'`), 'the script already contains this host');
  assert.ok(!fetchUserProfile.includes('YOUR_TRUSTLANE_HOST'), 'no placeholder left in the script');
  // The panel's script is the one served as a file ("Open as a file").
  const served = await fetch(`${net.url}/integrations/auth0/fetchUserProfile.js`, { signal: AbortSignal.timeout(TIMEOUT) });
  assert.equal(served.status, 200);
  assert.equal(await served.text(), fetchUserProfile, 'the served script and the panel\'s are the same text');

  // "Add the Connection": the panel's values typed into an Auth0 custom social connection.
  const connection: Auth0Connection = {
    name: CONNECTION,
    strategy: 'oauth2',
    options: {
      authorizationURL,
      tokenURL,
      scope,
      useOauthSpecScope: true, // "Separate scopes using a space"
      client_id: panelClientId,
      client_secret: clientSecret, // the secret noted on the record in step 1
      scripts: { fetchUserProfile },
      set_user_root_attributes: 'on_each_login', // "Sync user profile attributes at each login"
    },
  };
  emu = await startAuth0Emulator({ connectionName: CONNECTION, connection });

  // ---- 3. "Test Connection": an app using the connection sends the browser to Auth0.
  await page.goto(authorizeUrl(emu, 'first-login'));
  await heading('Choose your bank');
  assert.ok(pathOf(page).startsWith('/interaction/'), `the network's chooser: ${page.url()}`);
  assert.ok(await page.getByText(APP_NAME).first().isVisible(), 'the chooser names the application');
  await page.getByRole('button', { name: 'Mikomo Bank', exact: true }).click();
  await heading('Sign in to Mikomo Bank');
  await page.getByLabel('Username').fill(PERSON.username);
  await page.getByLabel('Password').fill(PERSON.username);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(`${APP_NAME} wants to know who you are`);
  assert.ok(await page.getByText(PERSON.email, { exact: true }).isVisible(), 'the consent page shows the email');
  await page.getByRole('button', { name: 'Allow', exact: true }).click();

  const user = await auth0UserShown(emu);
  const prefix = `oauth2|${CONNECTION}|`;
  assert.ok(user.user_id.startsWith(prefix), `user_id is oauth2|${CONNECTION}|<sub>: ${user.user_id}`);
  const sub = user.user_id.slice(prefix.length);
  assert.ok(sub.length > 0, 'a non-empty sub');
  assert.notEqual(sub, PERSON.email, 'the sub, not the email, identifies the person');
  assert.equal(user.email, PERSON.email);
  assert.equal(user.email_verified, true);
  assert.equal(user.given_name, 'Philip');
  assert.equal(user.family_name, 'Lovett');
  assert.equal(user.name, 'Philip Lovett');
  assert.equal(user.logins_count, 1);
  assert.equal(user.identities[0]?.connection, CONNECTION);
  assert.equal(user.identities[0]?.user_id, `${CONNECTION}|${sub}`);
  assert.equal(await page.locator('#app-state').textContent(), 'first-login', 'Auth0 gives the app its state back');

  // The sub is TrustLane's: the proxy's /me answers it for the access token Auth0 holds.
  const me = await fetch(`${net.url}/oidc-proxy/proxy/auth0/me`, {
    headers: { authorization: `Bearer ${user.identities[0]!.access_token}` },
    signal: AbortSignal.timeout(TIMEOUT),
  });
  assert.equal(me.status, 200);
  assert.equal(((await me.json()) as { sub?: string }).sub, sub);

  // What Auth0 sent: the scope space-separated, no nonce, no PKCE; the token request with body credentials.
  const sent = new URL(emu.authorizeRedirects.at(-1)!);
  assert.equal(`${sent.origin}${sent.pathname}`, authorizationURL);
  assert.equal(sent.searchParams.get('scope'), 'openid email profile');
  assert.equal(sent.searchParams.get('client_id'), clientId);
  assert.equal(sent.searchParams.get('redirect_uri'), emu.callbackUrl);
  const tokenRequest = emu.tokenRequests.at(-1)!;
  assert.equal(tokenRequest.url, tokenURL);
  assert.equal(tokenRequest.status, 200);
  assert.equal(tokenRequest.body.client_secret, clientSecret);
  assert.deepEqual(emu.scriptErrors, []);

  // A second login by the same person: the same Auth0 user (a stable sub).
  // The network remembers the bank (offered first) and the consent to this app.
  await page.goto(authorizeUrl(emu, 'second-login'));
  await heading('Choose your bank');
  await page.getByRole('button', { name: 'Continue with Mikomo Bank', exact: true }).click();
  await heading('Sign in to Mikomo Bank');
  await page.getByLabel('Username').fill(PERSON.username);
  await page.getByLabel('Password').fill(PERSON.username);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const again = await auth0UserShown(emu);
  assert.equal(again.user_id, user.user_id, 'the same Auth0 user: the sub is stable');
  assert.equal(again.logins_count, 2);
  assert.equal(again.email, PERSON.email);
  assert.equal(again.name, 'Philip Lovett');
  assert.equal(emu.users.size, 1, 'Auth0 has one user');

  assert.deepEqual(problems, [], 'no console errors');
  assert.deepEqual(failed, [], 'no failed requests');
});
