/**
 * `oauth2` connector: explicit authorization, token and userinfo URLs and a
 * per-bank claim mapping (normalized claim -> dotted path in the bank's JSON).
 * Still on openid-client v6 (a Configuration built from the explicit URLs), so
 * state, PKCE and the token request are handled by the library.
 */
import * as client from 'openid-client';
import type { Bank } from '../store/store.js';
import type { NormalizedIdentity } from '../network/claims.js';
import { bankFetch } from './http.js';
import { BankError, classifyBankError, isLoopbackHttp, type Connector, type ConnectorOptions, type StartResult } from './connector.js';
import { clientAuthFor, clientMetadataFor, pickStandardClaims } from './oidc.js';

/** Reads "a.b.c" from an object. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Applies a claim mapping: keys are normalized claims ("address.locality" nests), values are paths in `source`. */
export function applyClaimMapping(source: Record<string, unknown>, mapping: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [target, from] of Object.entries(mapping)) {
    const value = getPath(source, from);
    if (value === undefined || value === null) continue;
    const parts = target.split('.');
    let cur = out;
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1]!] = value;
  }
  return out;
}

export class OAuth2Connector implements Connector {
  private config: client.Configuration | undefined;

  constructor(
    private readonly bank: Bank,
    private readonly options: ConnectorOptions,
  ) {}

  private async configuration(): Promise<client.Configuration> {
    if (this.config) return this.config;
    const { bank } = this;
    if (!bank.authorizationUrl || !bank.tokenUrl || !bank.userinfoUrl) {
      throw new BankError('server_error', `${bank.slug}: oauth2 banks need authorization, token and userinfo URLs`);
    }
    const config = new client.Configuration(
      {
        issuer: bank.issuer ?? new URL(bank.authorizationUrl).origin,
        authorization_endpoint: bank.authorizationUrl,
        token_endpoint: bank.tokenUrl,
        userinfo_endpoint: bank.userinfoUrl,
      },
      bank.clientId,
      clientMetadataFor(bank),
      await clientAuthFor(bank),
    );
    config.timeout = (bank.timeoutMs ?? this.options.timeoutMs) / 1000;
    config[client.customFetch] = bankFetch;
    if ([bank.authorizationUrl, bank.tokenUrl, bank.userinfoUrl].every(isLoopbackHttp)) client.allowInsecureRequests(config);
    this.config = config;
    return config;
  }

  async start({ redirectUri }: { redirectUri: string }): Promise<StartResult> {
    try {
      const config = await this.configuration();
      const state = client.randomState();
      const params: Record<string, string> = { redirect_uri: redirectUri, scope: this.bank.scope, state };
      const transaction: StartResult['transaction'] = { state, redirect_uri: redirectUri };
      if (this.bank.pkce) {
        const verifier = client.randomPKCECodeVerifier();
        params.code_challenge = await client.calculatePKCECodeChallenge(verifier);
        params.code_challenge_method = 'S256';
        transaction.code_verifier = verifier;
      }
      return { authorizationUrl: client.buildAuthorizationUrl(config, params), transaction };
    } catch (err) {
      throw classifyBankError(err, this.bank);
    }
  }

  async finish(callbackUrl: URL, tx: Record<string, unknown>): Promise<NormalizedIdentity> {
    try {
      const config = await this.configuration();
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        expectedState: String(tx.state),
        ...(typeof tx.code_verifier === 'string' ? { pkceCodeVerifier: tx.code_verifier } : {}),
        idTokenExpected: false,
      });
      const res = await client.fetchProtectedResource(config, tokens.access_token, new URL(this.bank.userinfoUrl!), 'GET');
      if (res.status >= 500) throw new BankError('temporarily_unavailable', `${this.bank.slug}: userinfo HTTP ${res.status}`);
      if (res.status !== 200) throw new BankError('server_error', `${this.bank.slug}: userinfo HTTP ${res.status}`);
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new BankError('server_error', `${this.bank.slug}: userinfo is not JSON`);
      }
      if (!body || typeof body !== 'object') throw new BankError('server_error', `${this.bank.slug}: userinfo is not a JSON object`);
      const mapped = applyClaimMapping(body as Record<string, unknown>, { sub: 'sub', ...this.bank.claimMapping });
      const subject = mapped.sub;
      if ((typeof subject !== 'string' && typeof subject !== 'number') || subject === '') {
        throw new BankError('server_error', `${this.bank.slug}: userinfo has no subject at "${this.bank.claimMapping.sub ?? 'sub'}"`);
      }
      return { subject: String(subject), claims: pickStandardClaims(mapped) };
    } catch (err) {
      throw classifyBankError(err, this.bank);
    }
  }
}
