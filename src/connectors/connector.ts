/**
 * The Connector interface: one small contract per upstream kind (as dex does).
 *   start  — build the bank's authorization URL and return what must be kept
 *            for the callback (stored by the caller as an upstream transaction);
 *   finish — turn the bank's callback into a normalized identity.
 * Failures are classified into three kinds, each mapped to an OAuth error the
 * app receives: the user said no (access_denied), the bank is down or slow
 * (temporarily_unavailable), or the bank's answer failed validation (server_error).
 */
import type { NormalizedIdentity } from '../network/claims.js';
import type { Bank } from '../store/store.js';
import { isLoopbackHost } from '../http/crypto.js';

export interface StartResult {
  authorizationUrl: URL;
  /** Kept in the upstream transaction: state, nonce, code_verifier… */
  transaction: { state: string } & Record<string, unknown>;
}

export interface Connector {
  start(options: { redirectUri: string; loginHint?: string }): Promise<StartResult>;
  finish(callbackUrl: URL, transaction: Record<string, unknown>): Promise<NormalizedIdentity>;
}

export type BankFailureKind = 'access_denied' | 'temporarily_unavailable' | 'server_error';

export class BankError extends Error {
  constructor(
    readonly kind: BankFailureKind,
    /** For logs only; never shown raw to users. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${kind}: ${reason}`, options);
    this.name = 'BankError';
  }
}

function* causes(err: unknown): Generator<any> {
  let e: any = err;
  for (let i = 0; e && i < 6; i++) {
    yield e;
    e = e.cause;
  }
}

/** Maps whatever a bank call threw to one of the three failure kinds. */
export function classifyBankError(err: unknown, bank: Pick<Bank, 'slug'>): BankError {
  if (err instanceof BankError) return err;
  for (const e of causes(err)) {
    if (!e || typeof e !== 'object') continue;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return new BankError('temporarily_unavailable', `${bank.slug}: timed out`, { cause: err });
    if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(e.code)) {
      return new BankError('temporarily_unavailable', `${bank.slug}: ${e.code}`, { cause: err });
    }
    if (e.code === 'OAUTH_AUTHORIZATION_RESPONSE_ERROR' && typeof e.error === 'string') {
      if (e.error === 'access_denied') return new BankError('access_denied', `${bank.slug}: user denied at the bank`, { cause: err });
      if (e.error === 'temporarily_unavailable' || e.error === 'server_error') return new BankError('temporarily_unavailable', `${bank.slug}: bank answered ${e.error}`, { cause: err });
      return new BankError('server_error', `${bank.slug}: bank answered ${e.error}: ${e.error_description ?? ''}`, { cause: err });
    }
    const status = typeof e.status === 'number' ? e.status : e instanceof Response ? e.status : undefined;
    if (status !== undefined && status >= 500) return new BankError('temporarily_unavailable', `${bank.slug}: HTTP ${status}`, { cause: err });
    if (e.error === 'temporarily_unavailable') return new BankError('temporarily_unavailable', `${bank.slug}: bank answered temporarily_unavailable`, { cause: err });
  }
  const first = err as any;
  return new BankError('server_error', `${bank.slug}: ${first?.code ?? first?.name ?? 'error'}: ${first?.message ?? String(err)}`, { cause: err });
}

export interface ConnectorOptions {
  timeoutMs: number;
}

/** http:// is allowed toward loopback only (sandbox banks, tests); real banks must use https. */
export function isLoopbackHttp(url: string | null | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}
