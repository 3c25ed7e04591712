/**
 * Schema migrations, shared by SQLite and PostgreSQL. They run at start
 * (Kysely's Migrator takes a lock on PostgreSQL; on SQLite, Store.open retries).
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';

const migrations: Record<string, Migration> = {
  '2026_11_26_001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('oidc_models')
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('id', 'varchar(255)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'varchar(255)')
        .addColumn('user_code', 'varchar(255)')
        .addColumn('uid', 'varchar(255)')
        .addColumn('expires_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addPrimaryKeyConstraint('oidc_models_pk', ['model', 'id'])
        .execute();
      await db.schema.createIndex('oidc_models_grant').on('oidc_models').columns(['grant_id']).execute();
      await db.schema.createIndex('oidc_models_uid').on('oidc_models').columns(['uid']).execute();
      await db.schema.createIndex('oidc_models_user_code').on('oidc_models').columns(['user_code']).execute();
      await db.schema.createIndex('oidc_models_expires').on('oidc_models').columns(['expires_at']).execute();

      await db.schema
        .createTable('applications')
        .addColumn('client_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('owner_id', 'varchar(64)')
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('logo_uri', 'text')
        .addColumn('origin_url', 'text')
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('auth_method', 'varchar(64)', (c) => c.notNull())
        .addColumn('secret_hash', 'varchar(128)')
        .addColumn('jwks', 'text')
        .addColumn('jwks_uri', 'text')
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('subject_type', 'varchar(16)', (c) => c.notNull().defaultTo('public'))
        .addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('applications_owner').on('applications').columns(['owner_id']).execute();

      await db.schema
        .createTable('banks')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('slug', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('logo_url', 'text')
        .addColumn('countries', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('issuer', 'text')
        .addColumn('authorization_url', 'text')
        .addColumn('token_url', 'text')
        .addColumn('userinfo_url', 'text')
        .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('auth_method', 'varchar(64)', (c) => c.notNull())
        .addColumn('credentials', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('claim_mapping', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('pkce', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('visible', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('timeout_ms', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('accounts')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('bank_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('subject', 'varchar(255)', (c) => c.notNull())
        .addColumn('claims', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('accounts_bank_subject', ['bank_id', 'subject'])
        .execute();

      await db.schema
        .createTable('upstream_transactions')
        .addColumn('state', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('interaction_uid', 'varchar(255)', (c) => c.notNull())
        .addColumn('bank_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('upstream_tx_uid').on('upstream_transactions').columns(['interaction_uid']).execute();
      await db.schema.createIndex('upstream_tx_expires').on('upstream_transactions').columns(['expires_at']).execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('owner', 'varchar(64)', (c) => c.notNull())
        .addColumn('alg', 'varchar(16)', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
      await db.schema.createIndex('signing_keys_owner').on('signing_keys').columns(['owner']).execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '2026_11_26_002_console': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('console_accounts')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('email', 'varchar(320)', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('email_verified_at', 'bigint')
        .addColumn('totp_secret', 'varchar(128)')
        .addColumn('totp_last_step', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('console_recovery_codes')
        .addColumn('account_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('code_hash', 'varchar(128)', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addPrimaryKeyConstraint('console_recovery_codes_pk', ['account_id', 'code_hash'])
        .execute();
      await db.schema
        .createTable('console_sessions')
        .addColumn('id', 'varchar(128)', (c) => c.primaryKey()) // sha256 of the cookie token
        .addColumn('account_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('stage', 'varchar(16)', (c) => c.notNull()) // otp_setup | otp | full
        .addColumn('csrf', 'varchar(64)', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('console_sessions_account').on('console_sessions').columns(['account_id']).execute();
      await db.schema
        .createTable('console_email_tokens')
        .addColumn('token_hash', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('purpose', 'varchar(16)', (c) => c.notNull()) // verify | reset
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema
        .createTable('console_api_tokens')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(128)', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createTable('console_audit')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('event', 'varchar(64)', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('ip', 'varchar(64)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('console_audit_account').on('console_audit').columns(['account_id', 'created_at']).execute();
      await db.schema
        .createTable('rate_limits')
        .addColumn('key', 'varchar(400)', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('locked_until', 'bigint')
        .execute();
    },
  },
  '2026_11_27_003_partial_artifact_indexes': {
    // Most OIDC artifacts have no grant_id, uid or user_code (the device flow is
    // off): indexing only the rows that have one makes every artifact write
    // cheaper (docs/benchmarks.md). The lookups (model + uid, model + grant_id,
    // model + user_code) compare with "=", which never matches NULL, so both
    // engines use the partial indexes for them.
    async up(db: Kysely<any>) {
      for (const column of ['grant_id', 'uid', 'user_code'] as const) {
        const name = `oidc_models_${column === 'grant_id' ? 'grant' : column}`;
        await db.schema.dropIndex(name).execute();
        await db.schema
          .createIndex(name)
          .on('oidc_models')
          .columns([column])
          .where(sql.ref(column), 'is not', null)
          .execute();
      }
    },
  },
};

class InlineProvider implements MigrationProvider {
  async getMigrations() {
    return migrations;
  }
}

export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<void> {
  // With a non-default PostgreSQL schema, Kysely must be told where its own
  // bookkeeping tables live (it introspects every schema otherwise).
  const migrator = new Migrator({ db, provider: new InlineProvider(), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}
