/**
 * Per-request console context: the session (from its HttpOnly, SameSite
 * cookie, Secure under https), the account, CSRF tokens for every form, and
 * rate limits with temporary lockout. Stateless across nodes: all in the store.
 */
import { randomBytes } from 'node:crypto';
import { hmac, safeEqual } from '../http/crypto.js';
import type { Context } from 'koa';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { ConsoleAccount, ConsoleRepository, ConsoleSession } from './repository.js';
import type { Mailer } from './mailer.js';
import { consoleLayout, type ConsolePage } from './views.js';
import { readForm } from '../http/body.js';

export const SESSION_COOKIE = 'tl_console';
const CSRF_COOKIE = 'tl_console_csrf';
/** Signed-in sessions last 12 h; a half-finished sign-in (OTP pending) 15 min. */
export const SESSION_TTL = 12 * 3600;
export const PENDING_TTL = 15 * 60;

export interface ConsoleDeps {
  config: Config;
  store: Store;
  repo: ConsoleRepository;
  mailer: Mailer;
  log: Logger;
  csrfSecret: string;
  base: string;
}

export interface Signed {
  session: ConsoleSession;
  account: ConsoleAccount;
}

export function cookieOptions(deps: ConsoleDeps, maxAgeSeconds?: number) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.base.startsWith('https:'),
    path: '/console',
    overwrite: true,
    ...(maxAgeSeconds ? { maxAge: maxAgeSeconds * 1000 } : {}),
  };
}

/** The CSRF token for this browser: an HMAC of a random per-browser cookie (double submit, signed). */
export function csrfToken(ctx: Context, deps: ConsoleDeps): string {
  let id = ctx.cookies.get(CSRF_COOKIE) ?? (ctx.state.csrfCookie as string | undefined);
  if (!id) {
    id = randomBytes(18).toString('base64url');
    ctx.state.csrfCookie = id;
    ctx.cookies.set(CSRF_COOKIE, id, cookieOptions(deps));
  }
  return hmac(deps.csrfSecret, `console:${id}`);
}

export function csrfValid(ctx: Context, deps: ConsoleDeps, token: string | undefined): boolean {
  const id = ctx.cookies.get(CSRF_COOKIE);
  if (!id || !token) return false;
  return safeEqual(hmac(deps.csrfSecret, `console:${id}`), token);
}

export class CsrfError extends Error {}

/** Reads a form and checks its CSRF token: every console form goes through this. */
export async function readCheckedForm(ctx: Context, deps: ConsoleDeps): Promise<Record<string, string>> {
  const form = await readForm(ctx);
  if (!csrfValid(ctx, deps, form.csrf)) throw new CsrfError('invalid CSRF token');
  return form;
}

export function render(ctx: Context, page: ConsolePage, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = consoleLayout(page);
}

export async function loadSession(ctx: Context, deps: ConsoleDeps): Promise<Signed | undefined> {
  const token = ctx.cookies.get(SESSION_COOKIE);
  if (!token) return undefined;
  const session = await deps.repo.sessionByToken(token);
  if (!session) return undefined;
  const account = await deps.repo.accountById(session.accountId);
  if (!account) return undefined;
  return { session, account };
}

/** The signed-in (password + OTP) account, or a redirect to where the sign-in stands. */
export async function requireFull(ctx: Context, deps: ConsoleDeps): Promise<Signed | undefined> {
  const s = await loadSession(ctx, deps);
  if (s?.session.stage === 'full') return s;
  if (s?.session.stage === 'otp_setup') ctx.redirect('/console/otp/register');
  else if (s?.session.stage === 'otp') ctx.redirect('/console/otp');
  else ctx.redirect(`/console/login`);
  return undefined;
}

export function clientIp(ctx: Context): string {
  return ctx.ip || 'unknown';
}

// ---------------------------------------------------------------- rate limits

export interface Limit {
  max: number;
  windowSeconds: number;
  lockSeconds: number;
}

export const LIMITS = {
  signin: { max: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 },
  signinIp: { max: 50, windowSeconds: 15 * 60, lockSeconds: 15 * 60 },
  otp: { max: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 },
  reset: { max: 5, windowSeconds: 60 * 60, lockSeconds: 60 * 60 },
  mail: { max: 3, windowSeconds: 60 * 60, lockSeconds: 60 * 60 },
} satisfies Record<string, Limit>;

/** "Try again after 14:05 UTC (in 15 minutes)." */
export function retryMessage(until: number, what: string): string {
  const minutes = Math.max(1, Math.ceil((until * 1000 - Date.now()) / 60000));
  const at = new Date(until * 1000).toISOString().slice(11, 16);
  return `${what} Try again after ${at} UTC (in ${minutes} minute${minutes === 1 ? '' : 's'}).`;
}

export async function lockedUntil(deps: ConsoleDeps, keys: string[]): Promise<number | undefined> {
  let max: number | undefined;
  for (const k of keys) {
    const u = await deps.repo.lockedUntil(k);
    if (u !== undefined && (max === undefined || u > max)) max = u;
  }
  return max;
}

export async function fail(deps: ConsoleDeps, key: string, limit: Limit): Promise<number | undefined> {
  return deps.repo.recordFailure(key, limit.max, limit.windowSeconds, limit.lockSeconds);
}

export const normalizeEmail = (e: string | undefined): string => (e ?? '').trim().toLowerCase();
export const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;
