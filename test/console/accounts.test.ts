/**
 * Console accounts through real HTTP and a real SMTP server: sign up, the
 * "Verify account" email, sign-in rules, OTP registration and use, recovery
 * codes, password reset, lockouts, CSRF, cookies and the audit log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, formOf, decodeEntities, type PageResult } from '../helpers/agent.js';
import { openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { startSmtpCatcher, linkIn, type SmtpCatcher } from '../helpers/smtp.js';
import { totpFor } from '../../src/console/otp.js';
import { now } from '../../src/store/store.js';

let handle: TestStoreHandle;
let net: TestNetwork;
let smtp: SmtpCatcher;
const PASSWORD = 'violet-anchor-meadow-42';

before(async () => {
  smtp = await startSmtpCatcher();
  handle = await openTestStore();
  net = await startTestNetwork(handle.store, { SMTP_URL: smtp.url });
});
after(async () => {
  await net?.close();
  await handle?.cleanup();
  await smtp?.close();
});

async function post(agent: Agent, page: PageResult, action: string, fields: Record<string, string>): Promise<PageResult> {
  const form = formOf(page.body, action);
  return agent.go(new URL(form.action, page.url).href, { form: { ...form.fields, ...fields } });
}

async function signUp(agent: Agent, email: string, password = PASSWORD) {
  const page = await agent.go(`${net.url}/console/signup`);
  assert.match(page.body, /<title>Sign up · TrustLane Console<\/title>/);
  const before = smtp.mails.length;
  const done = await post(agent, page, '/console/signup', { email, password });
  assert.match(done.body, /Check your inbox/);
  return smtp.waitFor(email, { after: before });
}

async function signIn(agent: Agent, email: string, password = PASSWORD): Promise<PageResult> {
  const page = await agent.go(`${net.url}/console/login`);
  return post(agent, page, '/console/login', { email, password });
}

const secretOn = (page: PageResult) => decodeEntities(/<code id="otp-secret">([A-Z2-7]+)<\/code>/.exec(page.body)![1]!);

async function fullSignUp(email: string) {
  const agent = new Agent();
  const mail = await signUp(agent, email);
  await agent.go(linkIn(mail, '/console/verify'));
  const reg = await signIn(agent, email);
  const secret = secretOn(reg);
  const codes = await post(agent, reg, '/console/otp/register', { code: totpFor(secret, email).generate() });
  return { agent, secret, codes };
}

test('sign up, verify by the emailed link, register an OTP, then every sign-in asks for a code', async () => {
  const email = 'dev1@example.com';
  const agent = new Agent();
  const mail = await signUp(agent, email);
  assert.match(mail.subject, /Verify your TrustLane account/);
  assert.match(mail.text, /Verify account/);

  // No sign-in before verification.
  const early = await signIn(agent, email);
  assert.equal(early.status, 403);
  assert.match(early.body, /Verify your email first/);
  assert.match(early.body, />Resend</);

  const link = linkIn(mail, '/console/verify');
  const verified = await agent.go(link);
  assert.equal(verified.status, 200);
  assert.match(verified.body, /Your email is verified/);
  const reused = await agent.go(link);
  assert.equal(reused.status, 400);
  assert.match(reused.body, /already used/);

  const reg = await signIn(agent, email);
  assert.match(reg.url, /\/console\/otp\/register$/);
  assert.match(reg.body, /<h1>Register an OTP<\/h1>/);
  assert.match(reg.body, /<svg[^>]*>/, 'a QR code');
  assert.match(reg.body, /otpauth:\/\/totp\/TrustLane:dev1%40example\.com\?[^<]*algorithm=SHA1[^<]*digits=6[^<]*period=30/);
  assert.match(reg.body, /<label for="code">Verification code<\/label>/);
  assert.match(reg.body, />Verify<\/button>/);
  const secret = secretOn(reg);

  // Until the OTP is registered, nothing else is reachable.
  const blocked = await agent.go(`${net.url}/console/applications`);
  assert.match(blocked.url, /\/console\/otp\/register$/);

  const wrong = await post(agent, reg, '/console/otp/register', { code: '000000' });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body, /not right/);
  // One timestamp for the registration code, so the reuse check below targets the same time step
  // even if a 30 s boundary passes during the test.
  const registeredAt = Date.now();
  const codesPage = await post(agent, wrong, '/console/otp/register', { code: totpFor(secret, email).generate({ timestamp: registeredAt }) });
  assert.match(codesPage.url, /\/console\/otp\/recovery-codes$/);
  const codes = [...codesPage.body.matchAll(/<li><code>([a-z0-9-]{14})<\/code><\/li>/g)].map((m) => m[1]!);
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  assert.match(codesPage.body, />Continue</);
  const again = await agent.go(`${net.url}/console/otp/recovery-codes`);
  assert.doesNotMatch(again.body, /<li><code>/, 'recovery codes are shown once');
  assert.match(again.url, /\/console\/applications$/);
  assert.match(again.body, /Applications/);

  // Sign out; the next sign-in needs a code, and a code works once.
  const out = await post(agent, again, '/console/logout', {});
  assert.match(out.url, /\/console\/login$/);
  const otpPage = await signIn(agent, email);
  assert.match(otpPage.url, /\/console\/otp$/);
  const usedAtRegistration = await post(agent, otpPage, '/console/otp', { code: totpFor(secret, email).generate({ timestamp: registeredAt }) });
  assert.equal(usedAtRegistration.status, 400, 'the code used at registration cannot be used again');
  assert.match(usedAtRegistration.body, /already used/);
  const next = totpFor(secret, email).generate({ timestamp: registeredAt + 30_000 });
  const inside = await post(agent, usedAtRegistration, '/console/otp', { code: next });
  assert.match(inside.url, /\/console\/applications$/);

  // A recovery code signs in once.
  await post(agent, inside, '/console/logout', {});
  const otp2 = await signIn(agent, email);
  const viaRecovery = await post(agent, otp2, '/console/otp', { code: codes[0]! });
  assert.match(viaRecovery.url, /\/console\/applications$/);
  await post(agent, viaRecovery, '/console/logout', {});
  const otp3 = await signIn(agent, email);
  const recoveryAgain = await post(agent, otp3, '/console/otp', { code: codes[0]! });
  assert.equal(recoveryAgain.status, 400);

  // The audit log shows what happened.
  const audit = await agent.go(`${net.url}/console/audit`);
  assert.ok(audit.url.endsWith('/console/otp'), 'audit needs a full sign-in');
});

test('the audit log lists sign-up, verification, OTP registration and sign-ins', async () => {
  const email = 'audit@example.com';
  const { agent, codes } = await fullSignUp(email);
  const audit = await agent.go(`${net.url}/console/audit`);
  assert.match(audit.body, /<title>Audit log · TrustLane Console<\/title>/);
  for (const e of ['signed up', 'email verified', 'otp registered', 'signed in', 'password accepted']) assert.match(audit.body, new RegExp(`<td>${e}</td>`), e);
  void codes;
});

test('session and CSRF cookies are HttpOnly and SameSite; forms without the CSRF token are refused', async () => {
  const agent = new Agent();
  const res = await agent.request(`${net.url}/console/login`);
  const setCookie = res.headers.getSetCookie().join('\n');
  assert.match(setCookie, /tl_console_csrf=[^;]+;.*samesite=lax/i);
  assert.match(setCookie, /httponly/i);
  await res.text();
  const forged = await agent.go(`${net.url}/console/login`, { form: { email: 'x@example.com', password: 'whatever-password', csrf: 'forged' } });
  assert.equal(forged.status, 403);
  assert.match(forged.body, /This form has expired/);
  const other = new Agent();
  const page = await other.go(`${net.url}/console/signup`);
  const { fields } = formOf(page.body, '/console/signup');
  // A token from another browser does not work with this browser's cookie.
  const cross = await agent.go(`${net.url}/console/signup`, { form: { ...fields, email: 'y@example.com', password: PASSWORD } });
  assert.equal(cross.status, 403);

  const { agent: signed } = await fullSignUp('cookies@example.com');
  const session = signed.cookies(new URL(net.url).host).find((c) => c.name === 'tl_console');
  assert.ok(session);
  const raw = await signed.request(`${net.url}/console/login`);
  await raw.text();
});

test('passwords: a clear rule, common passwords refused, typed email kept', async () => {
  const agent = new Agent();
  const page = await agent.go(`${net.url}/console/signup`);
  assert.match(page.body, /at least 12 characters/);
  const short = await post(agent, page, '/console/signup', { email: 'weak@example.com', password: 'short' });
  assert.equal(short.status, 400);
  assert.match(short.body, /at least 12 characters/);
  assert.match(short.body, /value="weak@example.com"/);
  const common = await post(agent, short, '/console/signup', { email: 'weak@example.com', password: 'password1234' });
  assert.equal(common.status, 400);
  assert.match(common.body, /too common/);
  const bad = await post(agent, common, '/console/signup', { email: 'not-an-email', password: PASSWORD });
  assert.match(bad.body, /valid email address/);
});

test('an expired verification link is refused and Resend sends a new one', async () => {
  const email = 'late@example.com';
  const agent = new Agent();
  const mail = await signUp(agent, email);
  await net.store.db.updateTable('console_email_tokens').set({ expires_at: now() - 1 }).execute();
  const expired = await agent.go(linkIn(mail, '/console/verify'));
  assert.equal(expired.status, 400);
  assert.match(expired.body, /expired/);
  const before = smtp.mails.length;
  const resent = await post(agent, expired, '/console/verify/resend', { email });
  assert.match(resent.body, /Check your inbox/);
  const fresh = await smtp.waitFor(email, { after: before });
  assert.match((await agent.go(linkIn(fresh, '/console/verify'))).body, /Your email is verified/);
});

test('sign-in lockout after repeated wrong passwords, with when to retry', async () => {
  const email = 'locked@example.com';
  await fullSignUp(email);
  const agent = new Agent();
  let page: PageResult | undefined;
  for (let i = 0; i < 5; i++) page = await signIn(agent, email, 'wrong-password-000');
  assert.equal(page!.status, 429);
  assert.match(page!.body, /Too many failed sign-ins\. Try again after \d\d:\d\d UTC \(in 15 minutes\)/);
  const right = await signIn(agent, email);
  assert.equal(right.status, 429, 'locked even with the right password');
});

test('OTP lockout after repeated wrong codes', async () => {
  const email = 'otplock@example.com';
  const { agent } = await fullSignUp(email);
  const login = await agent.go(`${net.url}/console/applications`);
  await post(agent, login, '/console/logout', {});
  let page = await signIn(agent, email);
  for (let i = 0; i < 5; i++) page = await post(agent, page, '/console/otp', { code: '123456' });
  assert.equal(page.status, 429);
  assert.match(page.body, /Too many wrong codes\. Try again after/);
});

test('forgot password: emailed link, single use, expires; old password stops working', async () => {
  const email = 'forgot@example.com';
  const { agent } = await fullSignUp(email);
  const forgot = await agent.go(`${net.url}/console/forgot`);
  const before = smtp.mails.length;
  const sent = await post(agent, forgot, '/console/forgot', { email });
  assert.match(sent.body, /If an account exists/);
  const mail = await smtp.waitFor(email, { after: before });
  const link = linkIn(mail, '/console/reset');
  const resetPage = await agent.go(link);
  assert.match(resetPage.body, /Choose a new password/);
  const weak = await post(agent, resetPage, '/console/reset', { password: 'abc' });
  assert.equal(weak.status, 400);
  const done = await post(agent, weak, '/console/reset', { password: 'new-harbor-lantern-77' });
  assert.match(done.body, /Your password was changed/);
  assert.equal((await agent.go(link)).status, 400, 'the link works once');
  assert.equal((await signIn(new Agent(), email)).status, 401, 'old password refused');
  assert.match((await signIn(new Agent(), email, 'new-harbor-lantern-77')).url, /\/console\/otp$/);

  // Unknown addresses get the same answer, and no mail.
  const n = smtp.mails.length;
  const unknown = await post(agent, await agent.go(`${net.url}/console/forgot`), '/console/forgot', { email: 'nobody@example.com' });
  assert.match(unknown.body, /If an account exists/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(smtp.mails.slice(n).filter((m) => m.to.includes('nobody@example.com')).length, 0);

  // Expired reset link.
  const b2 = smtp.mails.length;
  await post(agent, await agent.go(`${net.url}/console/forgot`), '/console/forgot', { email });
  const link2 = linkIn(await smtp.waitFor(email, { after: b2 }), '/console/reset');
  await net.store.db.updateTable('console_email_tokens').set({ expires_at: now() - 1 }).where('purpose', '=', 'reset').execute();
  const old = await agent.go(link2);
  assert.equal(old.status, 400);
  assert.match(old.body, /expired/);
});

test('signing up twice with one address creates no second account and tells the owner by email', async () => {
  const email = 'twice@example.com';
  await fullSignUp(email);
  const agent = new Agent();
  const mail = await signUp(agent, email, 'another-strong-pass-99');
  assert.match(mail.subject, /tried to sign up/);
  const rows = await net.store.db.selectFrom('console_accounts').select('id').where('email', '=', email).execute();
  assert.equal(rows.length, 1);
});
