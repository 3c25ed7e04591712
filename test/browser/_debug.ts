import { chromium } from 'playwright-core';
import { openTestStore, startTestNetwork } from '../helpers/network.js';
const handle = await openTestStore();
const net = await startTestNetwork(handle.store);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
const ctx = await browser.newContext();
const page = await ctx.newPage();
page.setDefaultTimeout(10000);
page.on('response', async (r) => { if (r.request().isNavigationRequest()) console.log('resp', r.status(), r.url(), r.status() >= 400 || r.url().includes('/auth/') ? (await r.text().catch(()=>'?')).slice(0, 600) : ''); });
page.on('framenavigated', (f) => { if (f === page.mainFrame()) console.log('nav', f.url()); });
for (const [user, decision] of [['mikomo_10','Allow'], ['mikomo_13','Deny']]) {
  await page.goto(`${net.url}/demo`);
  await page.getByRole('button', { name: 'Sign in with your bank' }).click();
  await page.getByRole('button', { name: 'Mikomo Bank', exact: true }).click();
  await page.getByLabel('Username').fill(user!);
  await page.getByLabel('Password').fill(user!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
  await page.waitForTimeout(1500);
  console.log('after sign in:', page.url(), await page.locator('h1').allTextContents());
  if (await page.getByRole('button', { name: decision }).count()) await page.getByRole('button', { name: decision }).click();
  await page.waitForTimeout(1000);
  console.log('end:', page.url(), await page.locator('h1').allTextContents(), await page.locator('table').textContent().catch(()=>''));
}
console.log((await handle.store.db.selectFrom('accounts' as any).selectAll().execute()));
await browser.close(); await net.close(); await handle.cleanup();
