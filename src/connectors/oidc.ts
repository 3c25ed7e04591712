/**
 * `oidc` connector: discovery, authorization code + PKCE + state + nonce, PAR
 * when the bank offers it, client_secret_basic / client_secret_post /
 * private_key_jwt toward the bank, ID token validation and userinfo — all on
 * openid-client v6. Every call carries the bank's timeout.
 */
import * as client from 'openid-client';
import { importJWK, type JWK } from 'jose';
import type { Bank } from '../store/store.js';
import type { NormalizedIdentity } from '../network/claims.js';
import { bankFetch } from './http.js';
import { BankError, classifyBankError, isLoopbackHttp, type Connector, type ConnectorOptions, type StartResult } from './connector.js';

const DISCOVERY_TTL_MS = 10 * 60 * 1000;

interface CacheEntry {
  config: client.Configuration;
  /** config.serverMetadata() deep-copies on every call: read once. */
  metadata: client.ServerMetadata;
  at: number;
  version: number;
}
/** Discovery results are cached per bank (and dropped when the bank record changes). */
const discoveryCache = new Map<string, CacheEntry>();

export async function clientAuthFor(bank: Bank): Promise<client.ClientAuth> {
  switch (bank.authMethod) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(requireSecret(bank));
    case 'client_secret_post':
      return client.ClientSecretPost(requireSecret(bank));
    case 'private_key_jwt': {
      const jwk = bank.credentials.private_jwk as JWK | undefined;
      if (!jwk) throw new BankError('server_error', `${bank.slug}: private_key_jwt needs credentials.private_jwk`);
      const alg = (jwk.alg as string | undefined) ?? 'PS256';
      const key = (await importJWK(jwk, alg)) as CryptoKey;
      return client.PrivateKeyJwt({ key, kid: jwk.kid });
    }
  }
}

function requireSecret(bank: Bank): string {
  if (!bank.credentials.client_secret) throw new BankError('server_error', `${bank.slug}: no client_secret configured`);
  return bank.credentials.client_secret;
}

export function clientMetadataFor(bank: Bank): Partial<client.ClientMetadata> {
  const jwk = bank.credentials.private_jwk as JWK | undefined;
  return {
    ...(jwk?.alg ? { token_endpoint_auth_signing_alg: jwk.alg } : {}),
  };
}

export class OidcConnector implements Connector {
  constructor(
    private readonly bank: Bank,
    private readonly options: ConnectorOptions,
  ) {}

  private get timeoutSeconds(): number {
    return (this.bank.timeoutMs ?? this.options.timeoutMs) / 1000;
  }

  private async configuration(): Promise<CacheEntry> {
    const cached = discoveryCache.get(this.bank.id);
    if (cached && cached.version === this.bank.updatedAt && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached;
    if (!this.bank.issuer) throw new BankError('server_error', `${this.bank.slug}: no issuer configured`);
    const insecure = isLoopbackHttp(this.bank.issuer);
    const config = await client.discovery(new URL(this.bank.issuer), this.bank.clientId, clientMetadataFor(this.bank), await clientAuthFor(this.bank), {
      timeout: this.timeoutSeconds,
      execute: insecure ? [client.allowInsecureRequests] : [],
      [client.customFetch]: bankFetch,
    });
    config.timeout = this.timeoutSeconds;
    config[client.customFetch] = bankFetch;
    // Verify ID token signatures even though they come over the token endpoint's
    // TLS (OIDC Core 3.1.3.7 makes it optional; a broker vouching for claims must).
    client.enableNonRepudiationChecks(config);
    const entry = { config, metadata: config.serverMetadata(), at: Date.now(), version: this.bank.updatedAt };
    discoveryCache.set(this.bank.id, entry);
    return entry;
  }

  async start({ redirectUri, loginHint }: { redirectUri: string; loginHint?: string }): Promise<StartResult> {
    try {
      const { config, metadata } = await this.configuration();
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const params: Record<string, string> = {
        redirect_uri: redirectUri,
        scope: this.bank.scope,
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        ...(loginHint ? { login_hint: loginHint } : {}),
      };
      // OIDC Core 5.5: a bank that supports the claims parameter is asked to put
      // the identity claims in the ID token itself. They then arrive signed by
      // the bank (what a broker vouching for them wants) and the userinfo call
      // can be skipped (see finish).
      const claimsInIdToken = metadata.claims_parameter_supported === true;
      if (claimsInIdToken) params.claims = ID_TOKEN_CLAIMS_REQUEST;
      const usePar = Boolean(metadata.pushed_authorization_request_endpoint);
      const authorizationUrl = usePar ? await client.buildAuthorizationUrlWithPAR(config, params) : client.buildAuthorizationUrl(config, params);
      return { authorizationUrl, transaction: { state, nonce, code_verifier: codeVerifier, redirect_uri: redirectUri, claims_in_id_token: claimsInIdToken } };
    } catch (err) {
      discoveryCache.delete(this.bank.id);
      throw classifyBankError(err, this.bank);
    }
  }

  async finish(callbackUrl: URL, tx: Record<string, unknown>): Promise<NormalizedIdentity> {
    try {
      const { config, metadata } = await this.configuration();
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: String(tx.code_verifier),
        expectedState: String(tx.state),
        expectedNonce: String(tx.nonce),
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new BankError('server_error', `${this.bank.slug}: no ID token`);
      let userinfo: Record<string, unknown> = {};
      // Userinfo is needed unless the ID token already carries the claims asked
      // for. A bank that ignored the claims parameter sends none of them: then
      // userinfo is asked after all.
      const idTokenHasClaims = tx.claims_in_id_token === true && STANDARD_CLAIMS.some((c) => idClaims[c] !== undefined);
      if (!idTokenHasClaims && metadata.userinfo_endpoint) {
        userinfo = (await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)) as Record<string, unknown>;
      }
      const merged = { ...idClaims, ...userinfo } as Record<string, unknown>;
      return { subject: idClaims.sub, claims: pickStandardClaims(merged) };
    } catch (err) {
      throw classifyBankError(err, this.bank);
    }
  }
}

/** The claims pickStandardClaims reads, asked for in the ID token (OIDC Core 5.5). */
const STANDARD_CLAIMS = ['email', 'email_verified', 'given_name', 'family_name', 'name', 'birthdate', 'address', 'phone_number'] as const;
const ID_TOKEN_CLAIMS_REQUEST = JSON.stringify({ id_token: Object.fromEntries(STANDARD_CLAIMS.map((c) => [c, null])) });

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? v : undefined);

export function pickStandardClaims(c: Record<string, unknown>): NormalizedIdentity['claims'] {
  const a = (c.address && typeof c.address === 'object' ? c.address : undefined) as Record<string, unknown> | undefined;
  return {
    email: str(c.email),
    email_verified: typeof c.email_verified === 'boolean' ? c.email_verified : c.email_verified === 'true' ? true : undefined,
    given_name: str(c.given_name),
    family_name: str(c.family_name),
    name: str(c.name),
    birthdate: str(c.birthdate),
    phone_number: str(c.phone_number),
    address: a
      ? {
          street_address: str(a.street_address),
          locality: str(a.locality),
          region: str(a.region),
          postal_code: str(a.postal_code),
          country: str(a.country),
        }
      : undefined,
  };
}
