/**
 * The sandbox banks' definitions and their provisioning: the network's bank
 * records (what `banks list` shows) and each bank's registration of the network
 * as its client. Idempotent; safe when several nodes start at once.
 */
import type { JWK } from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import type { Bank, Store } from '../store/store.js';
import { hashSecret, randomSecret } from '../store/store.js';
import { generateSigningJwk, publicJwk } from '../keys/keys.js';
import { FUTURE_BANK_CLAIM_MAPPING, FUTURE_USERS, MIKOMO_USERS } from './test-users.js';
import type { SandboxBankDefinition } from './sandbox-bank.js';

export const SANDBOX_BANKS: SandboxBankDefinition[] = [
  { slug: 'mikomo', name: 'Mikomo Bank', kind: 'oidc', users: MIKOMO_USERS, alg: 'PS256' },
  { slug: 'future', name: 'Future Bank', kind: 'oauth2', users: FUTURE_USERS, alg: 'RS256' },
];

export const NETWORK_CLIENT_ID = 'trustlane-network';

export const NETWORK_ASSERTION_ALG = 'ES256';

interface Provisioning {
  private_jwk?: JWK;
  client_secret?: string;
}

async function provisioning(store: Store, def: SandboxBankDefinition): Promise<Provisioning> {
  const key = `sandbox:${def.slug}:provisioning`;
  const existing = await store.getSetting(key);
  if (existing) return JSON.parse(existing) as Provisioning;
  // The network's private_key_jwt key at an OIDC sandbox bank: ES256 (a FAPI 2.0
  // algorithm, as PS256 is), about five times cheaper to sign with than RSA-2048,
  // and the network signs one client assertion per back-channel call.
  const fresh: Provisioning = def.kind === 'oidc' ? { private_jwk: await generateSigningJwk(NETWORK_ASSERTION_ALG) } : { client_secret: randomSecret() };
  return JSON.parse(await store.setSettingIfAbsent(key, JSON.stringify(fresh))) as Provisioning;
}

function bankRecord(def: SandboxBankDefinition, base: string, p: Provisioning): Omit<Bank, 'id' | 'createdAt' | 'updatedAt'> {
  const issuer = `${base}/sandbox/${def.slug}`;
  const common = {
    slug: def.slug,
    name: def.name,
    logoUrl: `${base}/static/banks/${def.slug}.svg`,
    countries: ['US'],
    issuer,
    clientId: NETWORK_CLIENT_ID,
    pkce: true,
    visible: true,
    sandbox: true,
    timeoutMs: null,
  };
  if (def.kind === 'oidc') {
    return {
      ...common,
      kind: 'oidc',
      authorizationUrl: null,
      tokenUrl: null,
      userinfoUrl: null,
      authMethod: 'private_key_jwt',
      credentials: { private_jwk: p.private_jwk as Record<string, unknown> },
      scope: 'openid email profile address phone',
      claimMapping: {},
    };
  }
  return {
    ...common,
    kind: 'oauth2',
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    userinfoUrl: `${issuer}/me`,
    authMethod: 'client_secret_post',
    credentials: { client_secret: p.client_secret! },
    scope: 'identity',
    claimMapping: FUTURE_BANK_CLAIM_MAPPING,
  };
}

/** Ensures the network's record of each sandbox bank exists and points at this deployment's URL. */
export async function provisionSandboxBanks(store: Store, base: string): Promise<void> {
  for (const def of SANDBOX_BANKS) {
    const p = await provisioning(store, def);
    const want = bankRecord(def, base, p);
    const bank = await store.getBank(def.slug);
    if (!bank) {
      try {
        await store.createBank(want);
      } catch (err) {
        if (!(await store.getBank(def.slug))) throw err; // lost a race with another node: fine
      }
    } else if (bank.issuer !== want.issuer || bank.logoUrl !== want.logoUrl) {
      // PUBLIC_URL changed: follow it, keep everything an operator may have changed (visibility…).
      await store.updateBank(bank.id, { issuer: want.issuer, authorizationUrl: want.authorizationUrl, tokenUrl: want.tokenUrl, userinfoUrl: want.userinfoUrl, logoUrl: want.logoUrl });
    }
  }
}

/** The bank's side: its registration of the network as a client. */
export async function networkClientAt(store: Store, def: SandboxBankDefinition, base: string): Promise<ClientMetadata> {
  const p = await provisioning(store, def);
  const redirect_uris = [`${base}/banks/callback`];
  if (def.kind === 'oidc') {
    const pub = publicJwk(p.private_jwk!);
    // Installations provisioned before the switch to ES256 keep their PS256 key.
    const alg = typeof p.private_jwk!.alg === 'string' ? p.private_jwk!.alg : 'PS256';
    return {
      client_id: NETWORK_CLIENT_ID,
      redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: alg,
      id_token_signed_response_alg: def.alg,
      jwks: { keys: [{ ...pub, alg, use: 'sig' }] },
    } as ClientMetadata;
  }
  return {
    client_id: NETWORK_CLIENT_ID,
    client_secret: hashSecret(p.client_secret!),
    redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  };
}
