/**
 * Configuration comes from environment variables only, validated once at start.
 * Every bad value produces its own clear message; the process refuses to start
 * rather than run half-configured.
 */
import path from 'node:path';

export interface Config {
  port: number;
  host: string | undefined;
  publicUrl: URL;
  /** Issuer of the network OpenID Provider: `${PUBLIC_URL}/oidc`. */
  issuer: string;
  databaseUrl: string | undefined;
  sqlitePath: string;
  /** redis://…: short-lived OIDC artifacts in Redis (optional, for scale) */
  redisUrl: string | undefined;
  logLevel: string;
  sandboxBanks: boolean;
  seedDemo: boolean;
  bankTimeoutMs: number;
  sweepIntervalSeconds: number;
  keysRefreshSeconds: number;
  production: boolean;
  /** Behind a TLS-terminating proxy: trust X-Forwarded-* headers. */
  trustProxy: boolean;
  /** smtp(s)://user:pass@host:port; unset: mail goes to outboxDir and links are logged */
  smtpUrl: string | undefined;
  mailFrom: string;
  outboxDir: string;
  /** The Auth0 proxy accepts http://localhost redirect URIs (local testing); turn off in production if unwanted. */
  auth0AllowLocalhost: boolean;
  /** Processes serving the port (node:cluster); 1 = a single process (the default). */
  workers: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name}="${raw}" is not a whole number (expected ${min}..${max})`);
    return def;
  }
  const n = Number(raw);
  if (n < min || n > max) problems.push(`${name}=${raw} is out of range (expected ${min}..${max})`);
  return n;
}

function bool(env: Env, name: string, def: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  problems.push(`${name}="${raw}" is not a boolean (use true or false)`);
  return def;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const port = int(env, 'PORT', 9001, 0, 65535, problems);
  const host = env.HOST?.trim() || undefined;

  let publicUrl = new URL(`http://localhost:${port}`);
  if (env.PUBLIC_URL) {
    try {
      publicUrl = new URL(env.PUBLIC_URL);
      if (!['http:', 'https:'].includes(publicUrl.protocol)) {
        problems.push(`PUBLIC_URL="${env.PUBLIC_URL}" must be an http or https URL`);
      } else if (publicUrl.search || publicUrl.hash) {
        problems.push(`PUBLIC_URL="${env.PUBLIC_URL}" must not have a query or fragment`);
      }
    } catch {
      problems.push(`PUBLIC_URL="${env.PUBLIC_URL}" is not a valid URL (example: https://id.example.com)`);
    }
  }
  // Normalise: no trailing slash, so `${publicUrl}/oidc` is well formed.
  const base = publicUrl.href.replace(/\/+$/, '');

  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with postgres:// or postgresql:// (got "${databaseUrl.replace(/\/\/[^@]*@/, '//***@')}")`);
  }

  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL must start with redis:// or rediss://`);

  const logLevel = (env.LOG_LEVEL ?? 'info').trim().toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL="${env.LOG_LEVEL}" must be one of ${LOG_LEVELS.join(', ')}`);

  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (smtpUrl && !/^smtps?:\/\/[^\s]+$/.test(smtpUrl)) problems.push('SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465');

  const production = env.NODE_ENV === 'production';
  if (production && publicUrl.protocol !== 'https:' && !['localhost', '127.0.0.1'].includes(publicUrl.hostname)) {
    problems.push(`PUBLIC_URL must be https in production (got ${base})`);
  }

  const config: Config = {
    port,
    host,
    publicUrl: new URL(base),
    issuer: `${base}/oidc`,
    databaseUrl,
    sqlitePath: path.resolve(env.SQLITE_PATH?.trim() || './data/trustlane.sqlite'),
    redisUrl,
    logLevel,
    sandboxBanks: bool(env, 'SANDBOX_BANKS', true, problems),
    seedDemo: bool(env, 'SEED_DEMO', true, problems),
    bankTimeoutMs: int(env, 'BANK_TIMEOUT_MS', 5000, 100, 120000, problems),
    sweepIntervalSeconds: int(env, 'SWEEP_INTERVAL_SECONDS', 300, 1, 86400, problems),
    keysRefreshSeconds: int(env, 'KEYS_REFRESH_SECONDS', 60, 1, 86400, problems),
    production,
    trustProxy: bool(env, 'TRUST_PROXY', false, problems),
    smtpUrl,
    mailFrom: env.MAIL_FROM?.trim() || `TrustLane <no-reply@${publicUrl.hostname}>`,
    outboxDir: path.resolve(env.OUTBOX_DIR?.trim() || './data/outbox'),
    auth0AllowLocalhost: bool(env, 'AUTH0_PROXY_ALLOW_LOCALHOST', true, problems),
    workers: int(env, 'WORKERS', 1, 1, 64, problems),
  };
  if (config.workers > 1 && port === 0) problems.push('WORKERS > 1 needs a fixed PORT');
  if (problems.length) throw new ConfigError(problems);
  return config;
}
