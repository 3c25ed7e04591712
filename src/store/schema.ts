/**
 * Table types for Kysely. JSON columns are stored as text on both engines so one
 * query layer serves SQLite and PostgreSQL alike; timestamps are epoch seconds.
 */

export interface OidcModelTable {
  model: string; // namespaced: "network:Session", "sandbox:mikomo:AccessToken"
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface ApplicationTable {
  client_id: string;
  owner_id: string | null;
  name: string;
  logo_uri: string | null;
  origin_url: string | null;
  redirect_uris: string; // JSON array
  post_logout_redirect_uris: string; // JSON array
  auth_method: string;
  secret_hash: string | null;
  jwks: string | null; // JSON, public keys only
  jwks_uri: string | null;
  kind: string; // sandbox | production
  subject_type: string; // public | pairwise
  extra: string; // JSON object of further client metadata
  created_at: number;
  updated_at: number;
}

export interface BankTable {
  id: string;
  slug: string;
  name: string;
  logo_url: string | null;
  countries: string; // JSON array
  kind: string; // oidc | oauth2
  issuer: string | null;
  authorization_url: string | null;
  token_url: string | null;
  userinfo_url: string | null;
  client_id: string;
  auth_method: string;
  credentials: string; // JSON: { client_secret? , private_jwk? }
  scope: string;
  claim_mapping: string; // JSON object
  pkce: number; // 0|1
  visible: number; // 0|1
  sandbox: number; // 0|1
  timeout_ms: number | null;
  created_at: number;
  updated_at: number;
}

export interface AccountTable {
  id: string; // the network's subject
  bank_id: string;
  subject: string; // the bank's subject
  claims: string; // JSON: normalized identity at last login
  updated_at: number;
}

export interface UpstreamTransactionTable {
  state: string;
  interaction_uid: string;
  bank_id: string;
  payload: string; // JSON: nonce, code_verifier, redirect_uri, identity, ...
  expires_at: number;
}

export interface SigningKeyTable {
  kid: string;
  owner: string; // "network", "sandbox:mikomo", ...
  alg: string;
  private_jwk: string;
  status: string; // active | retired
  created_at: number;
  retired_at: number | null;
}

export interface SettingTable {
  key: string;
  value: string;
}

export interface ConsoleAccountTable {
  id: string;
  email: string;
  password_hash: string;
  email_verified_at: number | null;
  totp_secret: string | null;
  totp_last_step: number | null;
  created_at: number;
}

export interface ConsoleRecoveryCodeTable {
  account_id: string;
  code_hash: string;
  used_at: number | null;
}

export interface ConsoleSessionTable {
  id: string;
  account_id: string;
  stage: string;
  csrf: string;
  data: string;
  created_at: number;
  expires_at: number;
}

export interface ConsoleEmailTokenTable {
  token_hash: string;
  account_id: string;
  purpose: string;
  expires_at: number;
  used_at: number | null;
}

export interface ConsoleApiTokenTable {
  id: string;
  account_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface ConsoleAuditTable {
  id: string;
  account_id: string;
  event: string;
  detail: string;
  ip: string | null;
  created_at: number;
}

export interface RateLimitTable {
  key: string;
  failures: number;
  window_start: number;
  locked_until: number | null;
}

export interface Database {
  console_accounts: ConsoleAccountTable;
  console_recovery_codes: ConsoleRecoveryCodeTable;
  console_sessions: ConsoleSessionTable;
  console_email_tokens: ConsoleEmailTokenTable;
  console_api_tokens: ConsoleApiTokenTable;
  console_audit: ConsoleAuditTable;
  rate_limits: RateLimitTable;
  oidc_models: OidcModelTable;
  applications: ApplicationTable;
  banks: BankTable;
  accounts: AccountTable;
  upstream_transactions: UpstreamTransactionTable;
  signing_keys: SigningKeyTable;
  settings: SettingTable;
}
