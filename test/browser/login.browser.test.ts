/**
 * A person's login in a real browser (Debian's chromium, headless, driven by
 * playwright-core): the demo app -> the bank chooser (with its search filter,
 * /static/chooser.js) -> Mikomo Bank's sign-in page -> the network's consent
 * page -> back to the demo app. Pages are found by role and label, as a screen
 * reader user would find them. Screenshots of each page at 375px and 1280px go
 * to docs/screenshots/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { launchBrowser, screenshots as shoot, type BrowserSession } from '../helpers/console-walk.js';

let handle: TestStoreHandle;
let net: TestNetwork;
let session: BrowserSession;
let page: Page;

/** Console errors (CSP violations, script errors) and failed requests, checked at the end of each test. */
const problems = () => [...session.problems, ...session.failed.map((f) => `HTTP ${f.status} ${f.url}`)];
const resetProblems = () => {
  session.problems.length = 0;
  session.failed.length = 0;
};

/** Full-page screenshots of the current page at 375px and 1280px (which must not scroll sideways). */
const screenshots = (name: string) => shoot(page, name);

/** Mikomo Bank's sign-in page: checks it is the bank's page, then signs in. */
async function signInAtMikomo(username: string, password = username, shoot = false) {
  await page.getByRole('heading', { name: 'Sign in to Mikomo Bank' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/sandbox\/mikomo\/interaction\//);
  if (shoot) await screenshots('bank-login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

before(async () => {
  handle = await openTestStore();
  net = await startTestNetwork(handle.store);
  session = await launchBrowser();
  page = session.page;
});

after(async () => {
  await session?.close();
  await net?.close();
  await handle?.cleanup();
  assert.deepEqual(session?.offLoopback ?? [], [], 'the browser only talks to the test node');
});

test('a person signs in to the demo app through the chooser, Mikomo Bank and consent', async () => {
  resetProblems();
  await page.goto(`${net.url}/demo`);
  await page.getByRole('button', { name: 'Sign in with your bank' }).click();

  // The chooser.
  await page.getByRole('heading', { name: 'Choose your bank' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/interaction\//);
  const mikomo = page.getByRole('button', { name: 'Mikomo Bank', exact: true });
  const future = page.getByRole('button', { name: 'Future Bank', exact: true, includeHidden: true });
  assert.ok(await mikomo.isVisible());
  assert.ok(await future.isVisible());
  assert.equal(await page.getByRole('button', { name: /^Continue with/ }).count(), 0, 'a fresh browser has no remembered bank');
  await screenshots('chooser');

  // The search filters as the person types (progressive enhancement in /static/chooser.js).
  const search = page.getByLabel('Search banks');
  assert.equal(await search.getAttribute('type'), 'search');
  await search.pressSequentially('mik');
  await future.waitFor({ state: 'hidden' });
  assert.ok(await mikomo.isVisible(), 'Mikomo Bank stays visible');
  assert.ok(await page.getByText('No bank matches your search.').isHidden());
  await mikomo.click();

  // The bank.
  await signInAtMikomo('mikomo_10', 'mikomo_10', true);

  // The network's consent page names the app and shows the values it will receive.
  await page.getByRole('heading', { name: 'TrustLane Demo wants to know who you are' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/interaction\//);
  assert.ok(await page.getByText('TrustLane Demo', { exact: true }).isVisible(), 'the app name is shown');
  assert.ok(await page.getByText('PhilipHLovett@mikomotest.com', { exact: true }).isVisible(), 'the email value is shown');
  assert.ok(await page.getByRole('button', { name: 'Deny' }).isVisible());
  await screenshots('consent');
  await page.getByRole('button', { name: 'Allow' }).click();

  // Back at the demo app, which shows what it received.
  await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/demo/callback');
  const claims = page.locator('table#claims');
  assert.equal(await claims.getByRole('row', { name: /^email\b/ }).first().getByRole('cell').textContent(), 'PhilipHLovett@mikomotest.com');
  assert.equal(await claims.getByRole('row', { name: /^given_name\b/ }).getByRole('cell').textContent(), 'Philip');
  const rows = Object.fromEntries(
    await claims.locator('tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? ''])),
  ) as Record<string, string>;
  assert.equal(rows.email, 'PhilipHLovett@mikomotest.com');
  assert.equal(rows.given_name, 'Philip');
  assert.equal(rows.family_name, 'Lovett');
  assert.ok(rows.sub, 'a subject identifier');
  assert.deepEqual(problems(), [], 'no console errors or failed requests');
});

test('the chooser offers the bank chosen last time first; Deny returns access_denied to the app', async () => {
  resetProblems();
  await page.goto(`${net.url}/demo`);
  await page.getByRole('button', { name: 'Sign in with your bank' }).click();
  await page.getByRole('heading', { name: 'Choose your bank' }).waitFor();

  const cont = page.getByRole('button', { name: 'Continue with Mikomo Bank' });
  assert.ok(await cont.isVisible(), 'the last bank is offered');
  const first = page.getByRole('main').getByRole('button').first();
  assert.equal((await first.textContent())?.trim(), 'Continue with Mikomo Bank', 'and offered first');
  await screenshots('chooser-remembered');
  await cont.click();

  // Another person on the same browser: the network remembers consent per
  // account and app (an oidc-provider grant), so mikomo_10, who allowed it
  // above, would not be asked again. A different user also makes the bank and
  // the network switch sessions (an auto-submitting form from oidc-provider).
  await signInAtMikomo('mikomo_13');

  await page.getByRole('heading', { name: 'TrustLane Demo wants to know who you are' }).waitFor();
  assert.ok(await page.getByText('sofia.alvarez@mikomotest.com', { exact: true }).isVisible(), 'the consent page shows this person\'s details');
  await page.getByRole('button', { name: 'Deny' }).click();

  await page.getByRole('heading', { name: 'Sign-in did not complete' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/demo/callback');
  assert.equal(await page.locator('#error').textContent(), 'access_denied');
  assert.deepEqual(problems(), [], 'no console errors or failed requests');
});
