/**
 * The one store interface. Every node is stateless: OIDC artifacts, sessions,
 * interactions, upstream login transactions, applications, banks, accounts,
 * keys and settings all live here. One implementation over Kysely serves both
 * engines (SQLite embedded default, PostgreSQL when DATABASE_URL is set).
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { safeEqual } from '../http/crypto.js';
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, type Selectable } from 'kysely';
import type { AccountTable, ApplicationTable, BankTable, Database, SigningKeyTable, UpstreamTransactionTable } from './schema.js';
import { migrateToLatest } from './migrations.js';
import { RedisArtifacts, type ArtifactStore } from './redis-artifacts.js';
import { prepared } from './prepared.js';

export const now = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- domain types

export type AppKind = 'sandbox' | 'production';
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];

export interface Application {
  clientId: string;
  ownerId: string | null;
  name: string;
  logoUri: string | null;
  originUrl: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  authMethod: ClientAuthMethod;
  /** sha256 of the client secret ("sha256:<base64url>"), never the secret itself. */
  secretHash: string | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  jwksUri: string | null;
  kind: AppKind;
  subjectType: 'public' | 'pairwise';
  extra: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface NewApplication {
  ownerId?: string | null;
  name: string;
  logoUri?: string | null;
  originUrl?: string | null;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  authMethod: ClientAuthMethod;
  jwks?: { keys: Record<string, unknown>[] } | null;
  jwksUri?: string | null;
  kind?: AppKind;
  subjectType?: 'public' | 'pairwise';
  extra?: Record<string, unknown>;
  /** Only for tests and seeding: a fixed client_id. */
  clientId?: string;
}

export type BankKind = 'oidc' | 'oauth2';

export interface BankCredentials {
  client_secret?: string;
  /** private JWK for private_key_jwt toward the bank */
  private_jwk?: Record<string, unknown>;
}

export interface Bank {
  id: string;
  slug: string;
  name: string;
  logoUrl: string | null;
  countries: string[];
  kind: BankKind;
  issuer: string | null;
  authorizationUrl: string | null;
  tokenUrl: string | null;
  userinfoUrl: string | null;
  clientId: string;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  credentials: BankCredentials;
  scope: string;
  /** normalized claim name -> dotted path in the bank's userinfo (oauth2 banks) */
  claimMapping: Record<string, string>;
  pkce: boolean;
  visible: boolean;
  sandbox: boolean;
  timeoutMs: number | null;
  createdAt: number;
  updatedAt: number;
}

export type NewBank = Omit<Bank, 'id' | 'createdAt' | 'updatedAt'> & { id?: string };

export interface Account {
  id: string;
  bankId: string;
  subject: string;
  claims: Record<string, unknown>;
  updatedAt: number;
}

export interface UpstreamTransaction {
  state: string;
  interactionUid: string;
  bankId: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

export interface SigningKey {
  kid: string;
  owner: string;
  alg: string;
  privateJwk: Record<string, unknown>;
  status: 'active' | 'retired';
  createdAt: number;
  retiredAt: number | null;
}

export interface OidcRecord {
  payload: Record<string, unknown>;
  expiresAt: number | null;
  consumedAt: number | null;
}

// ---------------------------------------------------------------- helpers

export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('base64url')}`;
}

export function verifySecret(secret: string, stored: string | null): boolean {
  return Boolean(stored) && typeof secret === 'string' && safeEqual(hashSecret(secret), stored!);
}

/** 256 bits of randomness, base64url. */
export const randomSecret = (): string => randomBytes(32).toString('base64url');

const parse = <T>(s: string | null | undefined, fallback: T): T => (s ? (JSON.parse(s) as T) : fallback);

function toApplication(r: Selectable<ApplicationTable>): Application {
  return {
    clientId: r.client_id,
    ownerId: r.owner_id,
    name: r.name,
    logoUri: r.logo_uri,
    originUrl: r.origin_url,
    redirectUris: parse(r.redirect_uris, []),
    postLogoutRedirectUris: parse(r.post_logout_redirect_uris, []),
    authMethod: r.auth_method as ClientAuthMethod,
    secretHash: r.secret_hash,
    jwks: parse(r.jwks, null),
    jwksUri: r.jwks_uri,
    kind: r.kind as AppKind,
    subjectType: r.subject_type as 'public' | 'pairwise',
    extra: parse(r.extra, {}),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toBank(r: Selectable<BankTable>): Bank {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    logoUrl: r.logo_url,
    countries: parse(r.countries, []),
    kind: r.kind as BankKind,
    issuer: r.issuer,
    authorizationUrl: r.authorization_url,
    tokenUrl: r.token_url,
    userinfoUrl: r.userinfo_url,
    clientId: r.client_id,
    authMethod: r.auth_method as Bank['authMethod'],
    credentials: parse(r.credentials, {}),
    scope: r.scope,
    claimMapping: parse(r.claim_mapping, {}),
    pkce: Boolean(r.pkce),
    visible: Boolean(r.visible),
    sandbox: Boolean(r.sandbox),
    timeoutMs: r.timeout_ms === null ? null : Number(r.timeout_ms),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toAccount(r: Selectable<AccountTable>): Account {
  return { id: r.id, bankId: r.bank_id, subject: r.subject, claims: parse(r.claims, {}), updatedAt: Number(r.updated_at) };
}

function toKey(r: Selectable<SigningKeyTable>): SigningKey {
  return {
    kid: r.kid,
    owner: r.owner,
    alg: r.alg,
    privateJwk: JSON.parse(r.private_jwk),
    status: r.status as SigningKey['status'],
    createdAt: Number(r.created_at),
    retiredAt: r.retired_at === null ? null : Number(r.retired_at),
  };
}

/**
 * Kysely's SQLite driver prepares every statement anew; the SQL it generates is
 * the same text each time for one query shape, so prepared statements are kept
 * (bounded) and reused. better-sqlite3 statements are reusable and synchronous.
 */
function withStatementCache<T extends { prepare(sql: string): unknown; close(): unknown }>(db: T): T {
  const cache = new Map<string, unknown>();
  const prepare = db.prepare.bind(db);
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (sql: string) => {
          let st = cache.get(sql);
          if (!st) {
            st = prepare(sql);
            if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
            cache.set(sql, st);
          }
          return st;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}


/** Short-lived OIDC artifacts in the SQL store (table oidc_models; expired rows are swept). */
class SqlArtifacts implements ArtifactStore {
  private readonly q;

  constructor(db: Kysely<Database>) {
    const byColumn = (column: 'id' | 'uid' | 'user_code') =>
      prepared<[string, string], { payload: string; expires_at: number | null; consumed_at: number | null }>(db, 2, (model, value) =>
        db.selectFrom('oidc_models').select(['payload', 'expires_at', 'consumed_at']).where('model', '=', model).where(column, '=', value),
      );
    this.q = {
      upsert: prepared<[string, string, string, string | null, string | null, string | null, number | null], unknown>(db, 7, (model, id, payload, grantId, userCode, uid, expiresAt) =>
        db
          .insertInto('oidc_models')
          .values({ model, id, payload, grant_id: grantId, user_code: userCode, uid, expires_at: expiresAt, consumed_at: null })
          .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet({ payload, grant_id: grantId, user_code: userCode, uid, expires_at: expiresAt })),
      ),
      id: byColumn('id'),
      uid: byColumn('uid'),
      user_code: byColumn('user_code'),
      take: prepared<[string, string], { payload: string; expires_at: number | null; consumed_at: number | null }>(db, 2, (model, id) =>
        db.deleteFrom('oidc_models').where('model', '=', model).where('id', '=', id).returning(['payload', 'expires_at', 'consumed_at']),
      ),
      consume: prepared<[number, string, string], unknown>(db, 3, (at, model, id) =>
        db.updateTable('oidc_models').set({ consumed_at: at }).where('model', '=', model).where('id', '=', id),
      ),
      destroy: prepared<[string, string], unknown>(db, 2, (model, id) => db.deleteFrom('oidc_models').where('model', '=', model).where('id', '=', id)),
      revokeByGrantId: prepared<[string, string], unknown>(db, 2, (model, grantId) =>
        db.deleteFrom('oidc_models').where('model', '=', model).where('grant_id', '=', grantId),
      ),
      expire: prepared<[number, string, string], unknown>(db, 3, (at, model, id) =>
        db.updateTable('oidc_models').set({ expires_at: at }).where('model', '=', model).where('id', '=', id),
      ),
    };
  }

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresIn: number | undefined): Promise<void> {
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    await this.q.upsert(model, id, JSON.stringify(payload), str(payload.grantId), str(payload.userCode), str(payload.uid), expiresIn ? now() + expiresIn : null);
  }

  private static record(r: { payload: string; expires_at: number | null; consumed_at: number | null } | undefined): OidcRecord | undefined {
    if (!r) return undefined;
    const expiresAt = r.expires_at === null ? null : Number(r.expires_at);
    if (expiresAt !== null && expiresAt <= now()) return undefined;
    return { payload: JSON.parse(r.payload), expiresAt, consumedAt: r.consumed_at === null ? null : Number(r.consumed_at) };
  }

  async find(model: string, id: string) {
    return SqlArtifacts.record((await this.q.id(model, id)).rows[0]);
  }
  async findByUid(model: string, uid: string) {
    return SqlArtifacts.record((await this.q.uid(model, uid)).rows[0]);
  }
  async findByUserCode(model: string, userCode: string) {
    return SqlArtifacts.record((await this.q.user_code(model, userCode)).rows[0]);
  }

  async take(model: string, id: string): Promise<OidcRecord | undefined> {
    return SqlArtifacts.record((await this.q.take(model, id)).rows[0]);
  }

  async consume(model: string, id: string): Promise<void> {
    await this.q.consume(now(), model, id);
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.q.destroy(model, id);
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    await this.q.revokeByGrantId(model, grantId);
  }

  async expireNow(model: string, id: string): Promise<void> {
    await this.q.expire(now() - 1, model, id);
  }
}

function redisFor(opts: StoreOptions): RedisArtifacts | undefined {
  return opts.redisUrl ? RedisArtifacts.connect(opts.redisUrl, opts.redisPrefix) : undefined;
}

// ---------------------------------------------------------------- the store

export interface StoreOptions {
  databaseUrl?: string | undefined;
  sqlitePath?: string;
  /** PostgreSQL only: use (and create) this schema, e.g. to isolate test runs. */
  pgSchema?: string;
  /** Short-lived OIDC artifacts in Redis instead of the SQL store. */
  redisUrl?: string | undefined;
  /** Key prefix in Redis (default "tl:"), e.g. to isolate test runs. */
  redisPrefix?: string;
}

export class Store {
  readonly engine: 'sqlite' | 'postgres';
  /** Where short-lived OIDC artifacts live: the SQL store, or Redis. */
  readonly artifacts: ArtifactStore;
  readonly redis: RedisArtifacts | undefined;

  /** The queries of the login path, compiled once (see prepared.ts). */
  private readonly q;

  private constructor(readonly db: Kysely<Database>, engine: 'sqlite' | 'postgres', redis?: RedisArtifacts) {
    this.engine = engine;
    this.redis = redis;
    this.artifacts = redis ?? new SqlArtifacts(db);
    this.q = {
      application: prepared<[string], Selectable<ApplicationTable>>(db, 1, (clientId) => db.selectFrom('applications').selectAll().where('client_id', '=', clientId)),
      bank: prepared<[string], Selectable<BankTable>>(db, 1, (idOrSlug) =>
        db
          .selectFrom('banks')
          .selectAll()
          .where((eb) => eb.or([eb('id', '=', idOrSlug), eb('slug', '=', idOrSlug)])),
      ),
      banks: prepared<[], Selectable<BankTable>>(db, 0, () => db.selectFrom('banks').selectAll().orderBy('name')),
      account: prepared<[string], Selectable<AccountTable>>(db, 1, (id) => db.selectFrom('accounts').selectAll().where('id', '=', id)),
      accountBySubject: prepared<[string, string], Selectable<AccountTable>>(db, 2, (bankId, subject) =>
        db.selectFrom('accounts').selectAll().where('bank_id', '=', bankId).where('subject', '=', subject),
      ),
      upsertAccount: prepared<[string, string, string, string, number], unknown>(db, 5, (id, bankId, subject, claims, at) =>
        db
          .insertInto('accounts')
          .values({ id, bank_id: bankId, subject, claims, updated_at: at })
          .onConflict((oc) => oc.columns(['bank_id', 'subject']).doUpdateSet({ claims, updated_at: at })),
      ),
      putTransaction: prepared<[string, string, string, string, number], unknown>(db, 5, (state, uid, bankId, payload, expiresAt) =>
        db.insertInto('upstream_transactions').values({ state, interaction_uid: uid, bank_id: bankId, payload, expires_at: expiresAt }),
      ),
      takeTransaction: prepared<[string], Selectable<UpstreamTransactionTable>>(db, 1, (state) => db.deleteFrom('upstream_transactions').where('state', '=', state).returningAll()),
    };
  }

  /** Opens the engine the options name and runs migrations. */
  static async open(opts: StoreOptions): Promise<Store> {
    let store: Store;
    if (opts.databaseUrl) {
      const pg = (await import('pg')).default;
      // int8 (bigint) columns hold epoch seconds: safe as JS numbers.
      pg.types.setTypeParser(20, (v: string) => Number(v));
      if (opts.pgSchema) {
        if (!/^[a-z_][a-z0-9_]*$/.test(opts.pgSchema)) throw new Error(`invalid schema name ${opts.pgSchema}`);
        const c = new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 5000 });
        await c.connect();
        try {
          await c.query(`create schema if not exists ${opts.pgSchema}`);
        } finally {
          await c.end();
        }
      }
      const pool = new pg.Pool({
        connectionString: opts.databaseUrl,
        max: 10,
        connectionTimeoutMillis: 5000,
        // Every query has a timeout: a stuck statement fails instead of hanging a request.
        options: `-c statement_timeout=15000${opts.pgSchema ? ` -c search_path=${opts.pgSchema}` : ''}`,
        query_timeout: 20000,
      });
      store = new Store(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres', redisFor(opts));
    } else {
      const file = opts.sqlitePath ?? ':memory:';
      if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
      const SQLite = (await import('better-sqlite3')).default;
      const database = new SQLite(file);
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      database.pragma('busy_timeout = 5000');
      store = new Store(new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }), 'sqlite', redisFor(opts));
    }
    // Kysely's migration lock is per process on SQLite: when several processes
    // open one new file together, a loser's migration fails and rolls back; it
    // then finds the winner's work done.
    for (let attempt = 1; ; attempt++) {
      try {
        await migrateToLatest(store.db, opts.databaseUrl ? opts.pgSchema : undefined);
        break;
      } catch (err) {
        if (store.engine !== 'sqlite' || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    return store;
  }

  async close(): Promise<void> {
    await this.redis?.close();
    await this.db.destroy();
  }

  /** A cheap round trip to every engine in use, for readiness checks. */
  async ping(): Promise<void> {
    await this.db.selectFrom('settings').select('key').limit(1).execute();
    await this.redis?.ping();
  }

  // ------------------------------------------------ OIDC artifacts (adapter): SQL or Redis

  upsertOidc(model: string, id: string, payload: Record<string, unknown>, expiresIn: number | undefined): Promise<void> {
    return this.artifacts.upsert(model, id, payload, expiresIn);
  }
  findOidc(model: string, id: string) {
    return this.artifacts.find(model, id);
  }
  findOidcByUid(model: string, uid: string) {
    return this.artifacts.findByUid(model, uid);
  }
  findOidcByUserCode(model: string, userCode: string) {
    return this.artifacts.findByUserCode(model, userCode);
  }
  /** Reads and deletes in one step (single-use records such as proxy codes). */
  takeOidc(model: string, id: string) {
    return this.artifacts.take(model, id);
  }
  consumeOidc(model: string, id: string): Promise<void> {
    return this.artifacts.consume(model, id);
  }
  destroyOidc(model: string, id: string): Promise<void> {
    return this.artifacts.destroy(model, id);
  }
  revokeOidcByGrantId(model: string, grantId: string): Promise<void> {
    return this.artifacts.revokeByGrantId(model, grantId);
  }
  /** Makes an artifact expire now (operators and tests). */
  expireOidcNow(model: string, id: string): Promise<void> {
    return this.artifacts.expireNow(model, id);
  }

  // ------------------------------------------------ applications

  async createApplication(input: NewApplication): Promise<{ application: Application; clientSecret: string | null }> {
    const t = now();
    const clientId = input.clientId ?? `tl_${randomBytes(12).toString('base64url')}`;
    const needsSecret = input.authMethod === 'client_secret_basic' || input.authMethod === 'client_secret_post';
    const clientSecret = needsSecret ? randomSecret() : null;
    await this.db
      .insertInto('applications')
      .values({
        client_id: clientId,
        owner_id: input.ownerId ?? null,
        name: input.name,
        logo_uri: input.logoUri ?? null,
        origin_url: input.originUrl ?? null,
        redirect_uris: JSON.stringify(input.redirectUris),
        post_logout_redirect_uris: JSON.stringify(input.postLogoutRedirectUris ?? []),
        auth_method: input.authMethod,
        secret_hash: clientSecret ? hashSecret(clientSecret) : null,
        jwks: input.jwks ? JSON.stringify(input.jwks) : null,
        jwks_uri: input.jwksUri ?? null,
        kind: input.kind ?? 'sandbox',
        subject_type: input.subjectType ?? 'public',
        extra: JSON.stringify(input.extra ?? {}),
        created_at: t,
        updated_at: t,
      })
      .execute();
    const application = await this.getApplication(clientId);
    if (!application) throw new Error('application vanished after insert');
    return { application, clientSecret };
  }

  async getApplication(clientId: string): Promise<Application | undefined> {
    const r = (await this.q.application(clientId)).rows[0];
    return r ? toApplication(r) : undefined;
  }

  async listApplications(ownerId?: string | null): Promise<Application[]> {
    let q = this.db.selectFrom('applications').selectAll().orderBy('created_at', 'asc').orderBy('client_id');
    if (ownerId !== undefined) q = ownerId === null ? q.where('owner_id', 'is', null) : q.where('owner_id', '=', ownerId);
    return (await q.execute()).map(toApplication);
  }

  async updateApplicationExtra(clientId: string, extra: Record<string, unknown>): Promise<boolean> {
    const res = await this.db.updateTable('applications').set({ extra: JSON.stringify(extra), updated_at: now() }).where('client_id', '=', clientId).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Issues a new secret; the old one stops working at once. */
  async rotateApplicationSecret(clientId: string): Promise<string | undefined> {
    const secret = randomSecret();
    const res = await this.db
      .updateTable('applications')
      .set({ secret_hash: hashSecret(secret), updated_at: now() })
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) ? secret : undefined;
  }

  /**
   * Updates an application's registration. Switching to a secret-based method
   * from one without a secret (private_key_jwt) issues a secret, returned once;
   * switching to private_key_jwt drops the secret hash. Undefined when there is
   * no such application.
   */
  async updateApplication(
    clientId: string,
    patch: Partial<Pick<Application, 'name' | 'logoUri' | 'originUrl' | 'redirectUris' | 'authMethod' | 'jwks' | 'jwksUri'>>,
  ): Promise<{ application: Application; clientSecret: string | null } | undefined> {
    const current = await this.getApplication(clientId);
    if (!current) return undefined;
    const set: Record<string, unknown> = { updated_at: now() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.logoUri !== undefined) set.logo_uri = patch.logoUri;
    if (patch.originUrl !== undefined) set.origin_url = patch.originUrl;
    if (patch.redirectUris !== undefined) set.redirect_uris = JSON.stringify(patch.redirectUris);
    if (patch.jwks !== undefined) set.jwks = patch.jwks ? JSON.stringify(patch.jwks) : null;
    if (patch.jwksUri !== undefined) set.jwks_uri = patch.jwksUri;
    let clientSecret: string | null = null;
    if (patch.authMethod !== undefined) {
      set.auth_method = patch.authMethod;
      const needsSecret = patch.authMethod === 'client_secret_basic' || patch.authMethod === 'client_secret_post';
      if (needsSecret && !current.secretHash) {
        clientSecret = randomSecret();
        set.secret_hash = hashSecret(clientSecret);
      } else if (!needsSecret) {
        set.secret_hash = null;
      }
    }
    const res = await this.db.updateTable('applications').set(set).where('client_id', '=', clientId).executeTakeFirst();
    if (!Number(res.numUpdatedRows)) return undefined;
    const application = await this.getApplication(clientId);
    return application ? { application, clientSecret } : undefined;
  }

  async deleteApplication(clientId: string): Promise<boolean> {
    const res = await this.db.deleteFrom('applications').where('client_id', '=', clientId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  // ------------------------------------------------ banks

  async createBank(input: NewBank): Promise<Bank> {
    const t = now();
    const id = input.id ?? randomUUID();
    await this.db
      .insertInto('banks')
      .values({
        id,
        slug: input.slug,
        name: input.name,
        logo_url: input.logoUrl,
        countries: JSON.stringify(input.countries),
        kind: input.kind,
        issuer: input.issuer,
        authorization_url: input.authorizationUrl,
        token_url: input.tokenUrl,
        userinfo_url: input.userinfoUrl,
        client_id: input.clientId,
        auth_method: input.authMethod,
        credentials: JSON.stringify(input.credentials),
        scope: input.scope,
        claim_mapping: JSON.stringify(input.claimMapping),
        pkce: input.pkce ? 1 : 0,
        visible: input.visible ? 1 : 0,
        sandbox: input.sandbox ? 1 : 0,
        timeout_ms: input.timeoutMs,
        created_at: t,
        updated_at: t,
      })
      .execute();
    return (await this.getBank(id))!;
  }

  /** By id or by slug. */
  async getBank(idOrSlug: string): Promise<Bank | undefined> {
    const r = (await this.q.bank(idOrSlug)).rows[0];
    return r ? toBank(r) : undefined;
  }

  async listBanks(): Promise<Bank[]> {
    return (await this.q.banks()).rows.map(toBank);
  }

  async updateBank(id: string, patch: Partial<Pick<Bank, 'visible' | 'name' | 'logoUrl' | 'issuer' | 'authorizationUrl' | 'tokenUrl' | 'userinfoUrl' | 'timeoutMs' | 'credentials' | 'clientId'>>): Promise<boolean> {
    const set: Record<string, unknown> = { updated_at: now() };
    if (patch.visible !== undefined) set.visible = patch.visible ? 1 : 0;
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.logoUrl !== undefined) set.logo_url = patch.logoUrl;
    if (patch.issuer !== undefined) set.issuer = patch.issuer;
    if (patch.authorizationUrl !== undefined) set.authorization_url = patch.authorizationUrl;
    if (patch.tokenUrl !== undefined) set.token_url = patch.tokenUrl;
    if (patch.userinfoUrl !== undefined) set.userinfo_url = patch.userinfoUrl;
    if (patch.timeoutMs !== undefined) set.timeout_ms = patch.timeoutMs;
    if (patch.credentials !== undefined) set.credentials = JSON.stringify(patch.credentials);
    if (patch.clientId !== undefined) set.client_id = patch.clientId;
    const res = await this.db.updateTable('banks').set(set).where('id', '=', id).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  // ------------------------------------------------ accounts (one person at one bank)

  /**
   * Finds or creates the network account for (bank, bank subject) and stores the
   * identity snapshot of this login. The account id is the network's `sub`:
   * stable for one person at one bank. Safe under concurrent first logins.
   */
  async upsertAccount(bankId: string, subject: string, claims: Record<string, unknown>): Promise<Account> {
    const t = now();
    await this.q.upsertAccount(randomUUID(), bankId, subject, JSON.stringify(claims), t);
    const r = (await this.q.accountBySubject(bankId, subject)).rows[0];
    if (!r) throw new Error('account vanished after upsert');
    return toAccount(r);
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const r = (await this.q.account(id)).rows[0];
    return r ? toAccount(r) : undefined;
  }

  // ------------------------------------------------ upstream login transactions

  async putTransaction(tx: UpstreamTransaction): Promise<void> {
    await this.q.putTransaction(tx.state, tx.interactionUid, tx.bankId, JSON.stringify(tx.payload), tx.expiresAt);
  }

  /** Reads and deletes in one step: a transaction can be finished only once. */
  async takeTransaction(state: string): Promise<UpstreamTransaction | undefined> {
    const r = (await this.q.takeTransaction(state)).rows[0];
    if (!r || Number(r.expires_at) <= now()) return undefined;
    return { state: r.state, interactionUid: r.interaction_uid, bankId: r.bank_id, payload: JSON.parse(r.payload), expiresAt: Number(r.expires_at) };
  }

  // ------------------------------------------------ signing keys

  async listKeys(owner: string): Promise<SigningKey[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().where('owner', '=', owner).orderBy('created_at', 'desc').orderBy('kid', 'desc').execute();
    return rows.map(toKey);
  }

  async addKey(key: Omit<SigningKey, 'createdAt' | 'retiredAt' | 'status'>, createdAt = now(), opts: { ifAbsent?: boolean } = {}): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({ kid: key.kid, owner: key.owner, alg: key.alg, private_jwk: JSON.stringify(key.privateJwk), status: 'active', created_at: createdAt, retired_at: null })
      .$if(Boolean(opts.ifAbsent), (q) => q.onConflict((oc) => oc.column('kid').doNothing()))
      .execute();
  }

  /** Marks every active key of the owner except `keepKid` as retired (still published, no longer signing). */
  async retireKeysExcept(owner: string, keepKid: string): Promise<void> {
    await this.db.updateTable('signing_keys').set({ status: 'retired', retired_at: now() }).where('owner', '=', owner).where('status', '=', 'active').where('kid', '!=', keepKid).execute();
  }

  async deleteRetiredKeys(owner: string, retiredBefore: number): Promise<number> {
    const res = await this.db.deleteFrom('signing_keys').where('owner', '=', owner).where('status', '=', 'retired').where('retired_at', '<', retiredBefore).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  // ------------------------------------------------ settings (generated secrets)

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  /** Stores `value` unless the key exists; returns whichever value won (safe across nodes). */
  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.getSetting(key))!;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  }

  // ------------------------------------------------ housekeeping

  /** Deletes expired OIDC artifacts and upstream transactions. */
  async sweepExpired(at = now()): Promise<number> {
    const a = await this.db.deleteFrom('oidc_models').where('expires_at', 'is not', null).where('expires_at', '<=', at).executeTakeFirst();
    const b = await this.db.deleteFrom('upstream_transactions').where('expires_at', '<=', at).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows);
  }
}
