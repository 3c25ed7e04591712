/**
 * Accounts: Sign up → "Verify account" email → Sign in (Email, Password) →
 * "Register an OTP" (first time) or the OTP code → the console.
 * Also: Resend, Forgot password / reset, Sign out.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { html, raw } from '../../http/html.js';
import { errorList, notice } from '../views.js';
import {
  EMAIL_RE, LIMITS, PENDING_TTL, SESSION_COOKIE, SESSION_TTL, clientIp, cookieOptions, csrfToken, fail, loadSession, lockedUntil, normalizeEmail,
  readCheckedForm, render, retryMessage, type ConsoleDeps,
} from '../context.js';
import { PASSWORD_RULE, dummyHash, hashPassword, passwordProblem, verifyPassword } from '../passwords.js';
import { newRecoveryCodes, newTotpSecret, qrSvg, totpFor, totpStep } from '../otp.js';

const VERIFY_TTL = 24 * 3600;
const RESET_TTL = 3600;

export function accountRoutes(deps: ConsoleDeps): Router {
  const r = new Router({ prefix: '/console' });
  const { repo, mailer, base, log } = deps;

  // ---------------------------------------------------------------- pages

  const signupPage = (ctx: Context, o: { email?: string; errors?: string[] } = {}, status = 200) =>
    render(ctx, {
      title: 'Sign up',
      body: html`<section class="card"><h1>Sign up</h1>
${errorList(o.errors ?? [])}
<form method="post" action="/console/signup" novalidate>
<input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="email" required value="${o.email ?? ''}">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="new-password" required aria-describedby="password-rule">
<p class="field-hint" id="password-rule">${PASSWORD_RULE}</p>
<div class="actions"><button class="primary" type="submit">Sign up</button></div>
</form>
<p>Already have an account? <a href="/console/login">Sign in</a></p></section>`,
    }, status);

  const loginPage = (ctx: Context, o: { email?: string; errors?: string[]; info?: string; unverified?: boolean } = {}, status = 200) =>
    render(ctx, {
      title: 'Sign in',
      body: html`<section class="card"><h1>Sign in</h1>
${notice(o.info)}${errorList(o.errors ?? [])}
${o.unverified ? resendForm(ctx, o.email ?? '') : raw('')}
<form method="post" action="/console/login" novalidate>
<input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username" required value="${o.email ?? ''}">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>
<p><a href="/console/forgot">Forgot password</a> · <a href="/console/signup">Sign up</a></p></section>`,
    }, status);

  const resendForm = (ctx: Context, email: string) =>
    html`<form method="post" action="/console/verify/resend" class="actions">
<input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}"><input type="hidden" name="email" value="${email}">
<button type="submit">Resend</button> <span class="muted">the verification email</span></form>`;

  const messagePage = (ctx: Context, title: string, body: ReturnType<typeof html>, status = 200) => render(ctx, { title, body: html`<section class="card"><h1>${title}</h1>${body}</section>` }, status);

  // ---------------------------------------------------------------- mail

  async function sendVerification(accountId: string, email: string) {
    const token = await repo.createEmailToken(accountId, 'verify', VERIFY_TTL);
    const link = `${base}/console/verify?token=${encodeURIComponent(token)}`;
    await mailer.send({
      to: email,
      subject: 'Verify your TrustLane account',
      text: `Welcome to TrustLane.\n\nVerify account: ${link}\n\nThe link works once and expires in 24 hours.`,
      html: html`<p>Welcome to TrustLane.</p><p><a href="${link}">Verify account</a></p><p>The link works once and expires in 24 hours.</p>`.value,
      links: [link],
    });
  }

  async function mailLimited(ctx: Context, email: string): Promise<boolean> {
    const until = await lockedUntil(deps, [`mail:${email}`]);
    if (until) return true;
    await fail(deps, `mail:${email}`, LIMITS.mail);
    void ctx;
    return false;
  }

  // ---------------------------------------------------------------- sign up and verification

  r.get('/', async (ctx) => {
    const s = await loadSession(ctx, deps);
    ctx.redirect(s?.session.stage === 'full' ? '/console/applications' : '/console/login');
  });

  r.get('/signup', (ctx) => signupPage(ctx));

  r.post('/signup', async (ctx) => {
    const form = await readCheckedForm(ctx, deps);
    const email = normalizeEmail(form.email);
    const errors: string[] = [];
    if (!EMAIL_RE.test(email)) errors.push('Enter a valid email address.');
    const problem = passwordProblem(form.password ?? '', email);
    if (problem) errors.push(problem);
    if (errors.length) return signupPage(ctx, { email: form.email ?? '', errors }, 400);
    const account = await repo.createAccount(email, await hashPassword(form.password!));
    if (account) {
      await repo.audit(account.id, 'signed_up', {}, clientIp(ctx));
      await sendVerification(account.id, email);
    } else if (!(await mailLimited(ctx, email))) {
      // The address has an account already: say so by email only (no account enumeration here).
      await mailer.send({
        to: email,
        subject: 'Someone tried to sign up with your email',
        text: `Someone tried to create a TrustLane account with this address, which already has one. Sign in at ${base}/console/login or reset your password at ${base}/console/forgot.`,
        html: html`<p>Someone tried to create a TrustLane account with this address, which already has one.</p><p><a href="${base}/console/login">Sign in</a> or <a href="${base}/console/forgot">reset your password</a>.</p>`.value,
        links: [`${base}/console/login`],
      });
    }
    messagePage(ctx, 'Check your inbox', html`<p>We sent a link to <strong>${email}</strong>. Click "Verify account" in that email to finish signing up; the link expires in 24 hours.</p>${resendForm(ctx, email)}`);
  });

  r.get('/verify', async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const result = token ? await repo.useEmailToken(token, 'verify') : ({ error: 'unknown' } as const);
    if ('accountId' in result) {
      await repo.markVerified(result.accountId);
      await repo.audit(result.accountId, 'email_verified', {}, clientIp(ctx));
      return messagePage(ctx, 'Account verified', html`<p>Your email is verified. You can now sign in.</p><p><a class="button primary" href="/console/login">Sign in</a></p>`);
    }
    const why = { expired: 'This verification link has expired (links work for 24 hours).', used: 'This verification link was already used. If you verified your account, sign in.', unknown: 'This verification link is not valid.' }[result.error];
    messagePage(ctx, 'Verification link not valid', html`<p>${why}</p><p>Enter your email to get a new link:</p>
<form method="post" action="/console/verify/resend"><input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">
<label for="email">Email</label><input type="email" id="email" name="email" required autocomplete="email">
<div class="actions"><button type="submit">Resend</button> <a href="/console/login">Sign in</a></div></form>`, 400);
  });

  r.post('/verify/resend', async (ctx) => {
    const form = await readCheckedForm(ctx, deps);
    const email = normalizeEmail(form.email);
    const account = EMAIL_RE.test(email) ? await repo.accountByEmail(email) : undefined;
    if (account && !account.emailVerifiedAt) {
      const until = await lockedUntil(deps, [`mail:${email}`]);
      if (until) return messagePage(ctx, 'Too many emails', html`<p>${retryMessage(until, 'We already sent several emails to this address.')}</p>`, 429);
      await fail(deps, `mail:${email}`, LIMITS.mail);
      await sendVerification(account.id, email);
    }
    messagePage(ctx, 'Check your inbox', html`<p>If <strong>${email}</strong> has an account waiting for verification, we sent it a new "Verify account" link.</p><p><a href="/console/login">Sign in</a></p>`);
  });

  // ---------------------------------------------------------------- sign in

  r.get('/login', (ctx) => loginPage(ctx));

  r.post('/login', async (ctx) => {
    const form = await readCheckedForm(ctx, deps);
    const email = normalizeEmail(form.email);
    const keys = [`signin:${email}`, `signin-ip:${clientIp(ctx)}`];
    const until = await lockedUntil(deps, keys);
    if (until) return loginPage(ctx, { email, errors: [retryMessage(until, 'Too many failed sign-ins.')] }, 429);
    const account = email ? await repo.accountByEmail(email) : undefined;
    const ok = await verifyPassword(form.password ?? '', account?.passwordHash ?? (await dummyHash()));
    if (!account || !ok) {
      const locked = (await fail(deps, keys[0]!, LIMITS.signin)) ?? (await fail(deps, keys[1]!, LIMITS.signinIp));
      if (account) await repo.audit(account.id, 'signin_failed', {}, clientIp(ctx));
      return loginPage(ctx, { email, errors: [locked ? retryMessage(locked, 'Too many failed sign-ins.') : 'Wrong email or password.'] }, locked ? 429 : 401);
    }
    await repo.clearFailures(keys[0]!);
    if (!account.emailVerifiedAt) {
      return loginPage(ctx, { email, errors: ['Verify your email first: click "Verify account" in the email we sent you, or get a new one.'], unverified: true }, 403);
    }
    const stage = account.totpSecret ? 'otp' : 'otp_setup';
    const { token } = await repo.createSession(account.id, stage, PENDING_TTL);
    ctx.cookies.set(SESSION_COOKIE, token, cookieOptions(deps));
    await repo.audit(account.id, 'password_accepted', {}, clientIp(ctx));
    ctx.redirect(stage === 'otp' ? '/console/otp' : '/console/otp/register');
  });

  r.post('/logout', async (ctx) => {
    const s = await loadSession(ctx, deps);
    await readCheckedForm(ctx, deps);
    if (s) {
      await repo.deleteSession(s.session.id);
      await repo.audit(s.account.id, 'signed_out', {}, clientIp(ctx));
    }
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(deps));
    ctx.redirect('/console/login');
  });

  // ---------------------------------------------------------------- OTP registration (first sign-in)

  async function registerPage(ctx: Context, email: string, secret: string, errors: string[] = [], status = 200) {
    const uri = totpFor(secret, email).toString();
    render(ctx, {
      title: 'Register an OTP',
      body: html`<section class="card"><h1>Register an OTP</h1>
<p>Scan this QR code with an authenticator app (Google Authenticator, 1Password, Authy…), then enter the 6-digit code it shows.</p>
${errorList(errors)}
<div class="qr" role="img" aria-label="QR code of your OTP secret">${raw(await qrSvg(uri))}</div>
<p>Or enter the secret by hand:</p>
<div class="secret"><code id="otp-secret">${secret}</code><button type="button" data-copy="otp-secret">Copy</button></div>
<p class="field-hint">SHA-1, 6 digits, every 30 seconds. URI: <code id="otp-uri">${uri}</code></p>
<form method="post" action="/console/otp/register" novalidate>
<input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">
<label for="code">Verification code</label><input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
<div class="actions"><button class="primary" type="submit">Verify</button></div>
</form></section>`,
    }, status);
  }

  r.get('/otp/register', async (ctx) => {
    const s = await loadSession(ctx, deps);
    if (!s || s.session.stage !== 'otp_setup') return ctx.redirect('/console/login');
    let secret = s.session.data.pendingTotp as string | undefined;
    if (!secret) {
      secret = newTotpSecret();
      await repo.updateSession(s.session.id, { data: { ...s.session.data, pendingTotp: secret } });
    }
    await registerPage(ctx, s.account.email, secret);
  });

  r.post('/otp/register', async (ctx) => {
    const s = await loadSession(ctx, deps);
    const form = await readCheckedForm(ctx, deps);
    if (!s || s.session.stage !== 'otp_setup' || typeof s.session.data.pendingTotp !== 'string') return ctx.redirect('/console/login');
    const secret = s.session.data.pendingTotp;
    const key = `otp:${s.account.id}`;
    const until = await lockedUntil(deps, [key]);
    if (until) return registerPage(ctx, s.account.email, secret, [retryMessage(until, 'Too many wrong codes.')], 429);
    const step = totpStep(secret, s.account.email, form.code ?? '');
    if (step === undefined) {
      const locked = await fail(deps, key, LIMITS.otp);
      return registerPage(ctx, s.account.email, secret, [locked ? retryMessage(locked, 'Too many wrong codes.') : 'That code is not right. Check the time on your phone and enter the current code.'], locked ? 429 : 400);
    }
    await repo.clearFailures(key);
    await repo.setTotp(s.account.id, secret, step);
    const codes = newRecoveryCodes();
    await repo.replaceRecoveryCodes(s.account.id, codes);
    await repo.updateSession(s.session.id, { stage: 'full', data: { recoveryCodes: codes }, expiresAt: Math.floor(Date.now() / 1000) + SESSION_TTL });
    await repo.audit(s.account.id, 'otp_registered', {}, clientIp(ctx));
    await repo.audit(s.account.id, 'signed_in', { with: 'otp' }, clientIp(ctx));
    ctx.redirect('/console/otp/recovery-codes');
  });

  r.get('/otp/recovery-codes', async (ctx) => {
    const s = await loadSession(ctx, deps);
    if (!s || s.session.stage !== 'full') return ctx.redirect('/console/login');
    const codes = s.session.data.recoveryCodes as string[] | undefined;
    if (!codes) return ctx.redirect('/console/applications');
    await repo.updateSession(s.session.id, { data: {} }); // shown once
    render(ctx, {
      title: 'Your recovery codes',
      body: html`<section class="card"><h1>Save your recovery codes</h1>
<p>If you lose your phone, each of these codes signs you in once instead of an OTP code. They are shown only now: store them somewhere safe.</p>
<ol class="codes" id="recovery-codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<div class="actions"><button type="button" data-copy="recovery-codes">Copy</button><a class="button primary" href="/console/applications">Continue</a></div></section>`,
    });
  });

  // ---------------------------------------------------------------- OTP at every sign-in

  const otpPage = (ctx: Context, errors: string[] = [], status = 200) =>
    render(ctx, {
      title: 'Enter your OTP',
      body: html`<section class="card"><h1>Enter your OTP</h1>
<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
${errorList(errors)}
<form method="post" action="/console/otp" novalidate>
<input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">
<label for="code">Verification code</label><input type="text" id="code" name="code" autocomplete="one-time-code" required autofocus>
<div class="actions"><button class="primary" type="submit">Verify</button></div>
</form></section>`,
    }, status);

  r.get('/otp', async (ctx) => {
    const s = await loadSession(ctx, deps);
    if (!s || s.session.stage !== 'otp') return ctx.redirect(s?.session.stage === 'full' ? '/console/applications' : '/console/login');
    otpPage(ctx);
  });

  r.post('/otp', async (ctx) => {
    const s = await loadSession(ctx, deps);
    const form = await readCheckedForm(ctx, deps);
    if (!s || s.session.stage !== 'otp' || !s.account.totpSecret) return ctx.redirect('/console/login');
    const key = `otp:${s.account.id}`;
    const until = await lockedUntil(deps, [key]);
    if (until) return otpPage(ctx, [retryMessage(until, 'Too many wrong codes.')], 429);
    const code = (form.code ?? '').trim();
    let how: string | undefined;
    let reused = false;
    const step = totpStep(s.account.totpSecret, s.account.email, code);
    if (step !== undefined) {
      if (await repo.useTotpStep(s.account.id, step)) how = 'otp';
      else reused = true;
    } else if (code.length >= 12 && (await repo.useRecoveryCode(s.account.id, code))) {
      how = 'recovery_code';
    }
    if (!how) {
      const locked = await fail(deps, key, LIMITS.otp);
      const msg = reused ? 'This code was already used. Wait for the next code from your app.' : 'That code is not right.';
      return otpPage(ctx, [locked ? retryMessage(locked, 'Too many wrong codes.') : msg], locked ? 429 : 400);
    }
    await repo.clearFailures(key);
    await repo.updateSession(s.session.id, { stage: 'full', expiresAt: Math.floor(Date.now() / 1000) + SESSION_TTL });
    await repo.audit(s.account.id, 'signed_in', { with: how }, clientIp(ctx));
    ctx.redirect('/console/applications');
  });

  // ---------------------------------------------------------------- forgot / reset password

  const forgotPage = (ctx: Context, errors: string[] = [], status = 200) =>
    render(ctx, {
      title: 'Forgot password',
      body: html`<section class="card"><h1>Forgot password</h1>${errorList(errors)}
<p>Enter your email: we will send you a link to choose a new password.</p>
<form method="post" action="/console/forgot" novalidate><input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}">
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="email" required>
<div class="actions"><button class="primary" type="submit">Send reset link</button></div></form>
<p><a href="/console/login">Sign in</a></p></section>`,
    }, status);

  r.get('/forgot', (ctx) => forgotPage(ctx));

  r.post('/forgot', async (ctx) => {
    const form = await readCheckedForm(ctx, deps);
    const email = normalizeEmail(form.email);
    if (!EMAIL_RE.test(email)) return forgotPage(ctx, ['Enter a valid email address.'], 400);
    const until = await lockedUntil(deps, [`reset:${email}`, `reset-ip:${clientIp(ctx)}`]);
    if (until) return forgotPage(ctx, [retryMessage(until, 'Too many reset requests.')], 429);
    await fail(deps, `reset:${email}`, { max: 3, windowSeconds: 3600, lockSeconds: 3600 });
    const account = await repo.accountByEmail(email);
    if (account) {
      const token = await repo.createEmailToken(account.id, 'reset', RESET_TTL);
      const link = `${base}/console/reset?token=${encodeURIComponent(token)}`;
      await mailer.send({
        to: email,
        subject: 'Reset your TrustLane password',
        text: `Choose a new password: ${link}\n\nThe link works once and expires in 1 hour. If you did not ask for it, ignore this email.`,
        html: html`<p><a href="${link}">Choose a new password</a></p><p>The link works once and expires in 1 hour. If you did not ask for it, ignore this email.</p>`.value,
        links: [link],
      });
      await repo.audit(account.id, 'password_reset_requested', {}, clientIp(ctx));
    }
    messagePage(ctx, 'Check your inbox', html`<p>If an account exists for <strong>${email}</strong>, we sent it a link to choose a new password. The link expires in 1 hour.</p>`);
  });

  const resetPage = (ctx: Context, token: string, errors: string[] = [], status = 200) =>
    render(ctx, {
      title: 'Choose a new password',
      body: html`<section class="card"><h1>Choose a new password</h1>${errorList(errors)}
<form method="post" action="/console/reset" novalidate><input type="hidden" name="csrf" value="${csrfToken(ctx, deps)}"><input type="hidden" name="token" value="${token}">
<label for="password">New password</label><input type="password" id="password" name="password" autocomplete="new-password" required aria-describedby="password-rule">
<p class="field-hint" id="password-rule">${PASSWORD_RULE}</p>
<div class="actions"><button class="primary" type="submit">Save password</button></div></form></section>`,
    }, status);

  const badResetLink = (ctx: Context, state: string) =>
    messagePage(ctx, 'Reset link not valid', html`<p>${state === 'expired' ? 'This reset link has expired (links work for 1 hour).' : state === 'used' ? 'This reset link was already used.' : 'This reset link is not valid.'}</p><p><a href="/console/forgot">Get a new link</a></p>`, 400);

  r.get('/reset', async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const state = token ? await repo.emailTokenState(token, 'reset') : 'unknown';
    if (state !== 'valid') return badResetLink(ctx, state);
    resetPage(ctx, token);
  });

  r.post('/reset', async (ctx) => {
    const form = await readCheckedForm(ctx, deps);
    const ipKey = `reset-ip:${clientIp(ctx)}`;
    const until = await lockedUntil(deps, [ipKey]);
    if (until) return messagePage(ctx, 'Too many attempts', html`<p>${retryMessage(until, 'Too many password reset attempts.')}</p>`, 429);
    const token = form.token ?? '';
    const state = token ? await repo.emailTokenState(token, 'reset') : 'unknown';
    if (state !== 'valid') {
      await fail(deps, ipKey, LIMITS.reset);
      return badResetLink(ctx, state);
    }
    const problem = passwordProblem(form.password ?? '');
    if (problem) return resetPage(ctx, token, [problem], 400);
    const used = await repo.useEmailToken(token, 'reset');
    if (!('accountId' in used)) return badResetLink(ctx, used.error);
    await repo.setPassword(used.accountId, await hashPassword(form.password!));
    await repo.deleteSessionsOf(used.accountId);
    await repo.markVerified(used.accountId); // the reset link proves the address
    await repo.audit(used.accountId, 'password_reset', {}, clientIp(ctx));
    log.info({ account: used.accountId }, 'console password reset');
    loginPage(ctx, { info: 'Your password was changed. Sign in with the new one.' });
  });

  return r;
}
