/**
 * The console's part of the store: developer accounts, their sessions, email
 * tokens, recovery codes, API tokens, the audit log and rate limits. Same
 * Kysely database as the rest of the store, so it works on every engine.
 * Every token is stored as a SHA-256 hash, never as given to the user.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { now } from '../store/store.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64url');
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export interface ConsoleAccount {
  id: string;
  email: string;
  passwordHash: string;
  emailVerifiedAt: number | null;
  totpSecret: string | null;
  totpLastStep: number | null;
  createdAt: number;
}

export type SessionStage = 'otp_setup' | 'otp' | 'full';

export interface ConsoleSession {
  id: string;
  accountId: string;
  stage: SessionStage;
  csrf: string;
  data: Record<string, unknown>;
  expiresAt: number;
}

export interface ApiToken {
  id: string;
  accountId: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface AuditEntry {
  id: string;
  event: string;
  detail: Record<string, unknown>;
  ip: string | null;
  createdAt: number;
}

export class ConsoleRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // ---------------------------------------------------------------- accounts

  async createAccount(email: string, passwordHash: string): Promise<ConsoleAccount | undefined> {
    const id = randomUUID();
    const res = await this.db
      .insertInto('console_accounts')
      .values({ id, email, password_hash: passwordHash, email_verified_at: null, totp_secret: null, totp_last_step: null, created_at: now() })
      .onConflict((oc) => oc.column('email').doNothing())
      .executeTakeFirst();
    if (!Number(res.numInsertedOrUpdatedRows ?? 1)) return undefined;
    const acc = await this.accountById(id);
    return acc;
  }

  private toAccount(r: Database['console_accounts']): ConsoleAccount {
    return {
      id: r.id,
      email: r.email,
      passwordHash: r.password_hash,
      emailVerifiedAt: r.email_verified_at === null ? null : Number(r.email_verified_at),
      totpSecret: r.totp_secret,
      totpLastStep: r.totp_last_step === null ? null : Number(r.totp_last_step),
      createdAt: Number(r.created_at),
    };
  }

  async accountByEmail(email: string): Promise<ConsoleAccount | undefined> {
    const r = await this.db.selectFrom('console_accounts').selectAll().where('email', '=', email).executeTakeFirst();
    return r ? this.toAccount(r) : undefined;
  }

  async accountById(id: string): Promise<ConsoleAccount | undefined> {
    const r = await this.db.selectFrom('console_accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? this.toAccount(r) : undefined;
  }

  async markVerified(id: string): Promise<void> {
    await this.db.updateTable('console_accounts').set({ email_verified_at: now() }).where('id', '=', id).where('email_verified_at', 'is', null).execute();
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.db.updateTable('console_accounts').set({ password_hash: passwordHash }).where('id', '=', id).execute();
  }

  async setTotp(id: string, secret: string, step: number): Promise<void> {
    await this.db.updateTable('console_accounts').set({ totp_secret: secret, totp_last_step: step }).where('id', '=', id).execute();
  }

  /** Records the TOTP time step as used; false when it (or a later one) was used already: a code works once. */
  async useTotpStep(id: string, step: number): Promise<boolean> {
    const res = await this.db
      .updateTable('console_accounts')
      .set({ totp_last_step: step })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  // ---------------------------------------------------------------- recovery codes

  async replaceRecoveryCodes(accountId: string, codes: string[]): Promise<void> {
    await this.db.deleteFrom('console_recovery_codes').where('account_id', '=', accountId).execute();
    await this.db
      .insertInto('console_recovery_codes')
      .values(codes.map((c) => ({ account_id: accountId, code_hash: sha256(normalizeRecovery(c)), used_at: null })))
      .execute();
  }

  /** Uses a recovery code once. */
  async useRecoveryCode(accountId: string, code: string): Promise<boolean> {
    const res = await this.db
      .updateTable('console_recovery_codes')
      .set({ used_at: now() })
      .where('account_id', '=', accountId)
      .where('code_hash', '=', sha256(normalizeRecovery(code)))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async remainingRecoveryCodes(accountId: string): Promise<number> {
    const rows = await this.db.selectFrom('console_recovery_codes').select('code_hash').where('account_id', '=', accountId).where('used_at', 'is', null).execute();
    return rows.length;
  }

  // ---------------------------------------------------------------- sessions

  async createSession(accountId: string, stage: SessionStage, ttlSeconds: number, data: Record<string, unknown> = {}): Promise<{ token: string; session: ConsoleSession }> {
    const token = randomToken();
    const session: ConsoleSession = { id: sha256(token), accountId, stage, csrf: randomToken(24), data, expiresAt: now() + ttlSeconds };
    await this.db
      .insertInto('console_sessions')
      .values({ id: session.id, account_id: accountId, stage, csrf: session.csrf, data: JSON.stringify(data), created_at: now(), expires_at: session.expiresAt })
      .execute();
    return { token, session };
  }

  async sessionByToken(token: string): Promise<ConsoleSession | undefined> {
    const r = await this.db.selectFrom('console_sessions').selectAll().where('id', '=', sha256(token)).executeTakeFirst();
    if (!r || Number(r.expires_at) <= now()) return undefined;
    return { id: r.id, accountId: r.account_id, stage: r.stage as SessionStage, csrf: r.csrf, data: JSON.parse(r.data), expiresAt: Number(r.expires_at) };
  }

  async updateSession(id: string, patch: { stage?: SessionStage; data?: Record<string, unknown>; expiresAt?: number }): Promise<void> {
    const set: Record<string, unknown> = {};
    if (patch.stage) set.stage = patch.stage;
    if (patch.data) set.data = JSON.stringify(patch.data);
    if (patch.expiresAt) set.expires_at = patch.expiresAt;
    if (Object.keys(set).length) await this.db.updateTable('console_sessions').set(set).where('id', '=', id).execute();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('id', '=', id).execute();
  }

  async deleteSessionsOf(accountId: string): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('account_id', '=', accountId).execute();
  }

  // ---------------------------------------------------------------- email tokens

  async createEmailToken(accountId: string, purpose: 'verify' | 'reset', ttlSeconds: number): Promise<string> {
    const token = randomToken();
    await this.db.insertInto('console_email_tokens').values({ token_hash: sha256(token), account_id: accountId, purpose, expires_at: now() + ttlSeconds, used_at: null }).execute();
    return token;
  }

  /** Uses a token once. Returns the account id, or why it cannot be used. */
  async useEmailToken(token: string, purpose: 'verify' | 'reset'): Promise<{ accountId: string } | { error: 'unknown' | 'expired' | 'used' }> {
    const hash = sha256(token);
    const r = await this.db.selectFrom('console_email_tokens').selectAll().where('token_hash', '=', hash).where('purpose', '=', purpose).executeTakeFirst();
    if (!r) return { error: 'unknown' };
    if (r.used_at !== null) return { error: 'used' };
    if (Number(r.expires_at) <= now()) return { error: 'expired' };
    const res = await this.db.updateTable('console_email_tokens').set({ used_at: now() }).where('token_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return { error: 'used' };
    return { accountId: r.account_id };
  }

  /** Peeks at a token without using it (to show the reset form). */
  async emailTokenState(token: string, purpose: 'verify' | 'reset'): Promise<'valid' | 'unknown' | 'expired' | 'used'> {
    const r = await this.db.selectFrom('console_email_tokens').selectAll().where('token_hash', '=', sha256(token)).where('purpose', '=', purpose).executeTakeFirst();
    if (!r) return 'unknown';
    if (r.used_at !== null) return 'used';
    if (Number(r.expires_at) <= now()) return 'expired';
    return 'valid';
  }

  // ---------------------------------------------------------------- API tokens

  async createApiToken(accountId: string, name: string): Promise<{ token: string; apiToken: ApiToken }> {
    const token = `tlk_${randomToken()}`;
    const apiToken: ApiToken = { id: randomUUID(), accountId, name, createdAt: now(), lastUsedAt: null, revokedAt: null };
    await this.db
      .insertInto('console_api_tokens')
      .values({ id: apiToken.id, account_id: accountId, name, token_hash: sha256(token), created_at: apiToken.createdAt, last_used_at: null, revoked_at: null })
      .execute();
    return { token, apiToken };
  }

  async apiTokenAccount(token: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('console_api_tokens').select(['id', 'account_id', 'revoked_at']).where('token_hash', '=', sha256(token)).executeTakeFirst();
    if (!r || r.revoked_at !== null) return undefined;
    await this.db.updateTable('console_api_tokens').set({ last_used_at: now() }).where('id', '=', r.id).execute();
    return r.account_id;
  }

  async listApiTokens(accountId: string): Promise<ApiToken[]> {
    const rows = await this.db.selectFrom('console_api_tokens').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      name: r.name,
      createdAt: Number(r.created_at),
      lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
      revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }));
  }

  /** Revokes one of the account's own tokens; false when there is no such token for this account. */
  async revokeApiToken(accountId: string, id: string): Promise<boolean> {
    const res = await this.db.updateTable('console_api_tokens').set({ revoked_at: now() }).where('id', '=', id).where('account_id', '=', accountId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  // ---------------------------------------------------------------- audit log

  async audit(accountId: string, event: string, detail: Record<string, unknown> = {}, ip: string | null = null): Promise<void> {
    await this.db.insertInto('console_audit').values({ id: randomUUID(), account_id: accountId, event, detail: JSON.stringify(detail), ip, created_at: now() }).execute();
  }

  async auditLog(accountId: string, limit = 200): Promise<AuditEntry[]> {
    const rows = await this.db.selectFrom('console_audit').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, event: r.event, detail: JSON.parse(r.detail), ip: r.ip, createdAt: Number(r.created_at) }));
  }

  // ---------------------------------------------------------------- rate limits

  async lockedUntil(key: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('rate_limits').selectAll().where('key', '=', key).executeTakeFirst();
    const until = r?.locked_until === null || r === undefined ? undefined : Number(r.locked_until);
    return until !== undefined && until > now() ? until : undefined;
  }

  /** Counts a failure in a fixed window; locks the key for `lockSeconds` once `max` is reached. */
  async recordFailure(key: string, max: number, windowSeconds: number, lockSeconds: number): Promise<number | undefined> {
    const t = now();
    const r = await this.db.selectFrom('rate_limits').selectAll().where('key', '=', key).executeTakeFirst();
    let failures = 1;
    let windowStart = t;
    if (r && Number(r.window_start) > t - windowSeconds) {
      failures = r.failures + 1;
      windowStart = Number(r.window_start);
    }
    const lockedUntil = failures >= max ? t + lockSeconds : null;
    await this.db
      .insertInto('rate_limits')
      .values({ key, failures, window_start: windowStart, locked_until: lockedUntil })
      .onConflict((oc) => oc.column('key').doUpdateSet({ failures, window_start: windowStart, locked_until: lockedUntil }))
      .execute();
    return lockedUntil ?? undefined;
  }

  async clearFailures(key: string): Promise<void> {
    await this.db.deleteFrom('rate_limits').where('key', '=', key).execute();
  }

  async sweep(at = now()): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('expires_at', '<=', at).execute();
    await this.db.deleteFrom('console_email_tokens').where('expires_at', '<=', at - 7 * 86400).execute();
    await this.db.deleteFrom('rate_limits').where('window_start', '<=', at - 86400).where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', at)])).execute();
  }
}

export const normalizeRecovery = (c: string): string => c.replace(/[\s-]/g, '').toLowerCase();
