/**
 * Signing keys: generated on first start, persisted in the store, served as
 * JWKS, rotatable without breaking tokens already issued. A rotation adds a new
 * active key (signing) and retires the previous ones: retired keys stay in the
 * JWKS for KEY_RETENTION_SECONDS so tokens they signed still verify.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningKey, Store } from '../store/store.js';
import { now } from '../store/store.js';

/** Longer than any ID token or JWT we sign lives (1 h) with a wide margin. */
export const KEY_RETENTION_SECONDS = 24 * 3600;

export async function generateSigningJwk(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.use = 'sig';
  // The network's RSA key is published without `alg` so it can sign RS256 and PS256.
  if (!alg.startsWith('RS')) jwk.alg = alg;
  return jwk;
}

export async function ensureKeys(store: Store, owner: string, alg: string): Promise<SigningKey[]> {
  let keys = await store.listKeys(owner);
  if (!keys.some((k) => k.status === 'active')) {
    // Nodes starting together on an empty store must agree on one first key:
    // the first proposal stored wins, and every node inserts that one.
    const proposal = await generateSigningJwk(alg);
    const winner = JSON.parse(await store.setSettingIfAbsent(`initial_key:${owner}`, JSON.stringify(proposal))) as JWK;
    await store.addKey({ kid: winner.kid!, owner, alg, privateJwk: winner as Record<string, unknown> }, undefined, { ifAbsent: true });
    keys = await store.listKeys(owner);
  }
  return keys;
}

export async function rotateKeys(store: Store, owner: string, alg: string): Promise<{ kid: string; retired: string[] }> {
  const before = await store.listKeys(owner);
  const jwk = await generateSigningJwk(alg);
  await store.addKey({ kid: jwk.kid!, owner, alg, privateJwk: jwk as Record<string, unknown> });
  await store.retireKeysExcept(owner, jwk.kid!);
  await store.deleteRetiredKeys(owner, now() - KEY_RETENTION_SECONDS);
  return { kid: jwk.kid!, retired: before.filter((k) => k.status === 'active').map((k) => k.kid) };
}

/** Private JWKS for a provider: active keys first (the newest signs), retired ones after (verify only). */
export function toProviderJwks(keys: SigningKey[]): { keys: JWK[] } {
  const fresh = keys.filter((k) => k.status === 'active' || (k.retiredAt ?? 0) > now() - KEY_RETENTION_SECONDS);
  fresh.sort((a, b) => (a.status === b.status ? b.createdAt - a.createdAt : a.status === 'active' ? -1 : 1));
  return { keys: fresh.map((k) => k.privateJwk as JWK) };
}

/** A fingerprint of the key set, to notice rotations made by another node or the CLI. */
export const keySetVersion = (keys: SigningKey[]): string => keys.map((k) => `${k.kid}:${k.status}`).join(',');

/** Cookie signing keys, shared by every node through the store. */
export async function cookieKeys(store: Store, name: string): Promise<string[]> {
  const value = await store.setSettingIfAbsent(`cookie_keys:${name}`, JSON.stringify([randomBytes(32).toString('base64url')]));
  return JSON.parse(value) as string[];
}

export async function sharedSecret(store: Store, name: string): Promise<string> {
  return store.setSettingIfAbsent(`secret:${name}`, randomBytes(32).toString('base64url'));
}

/** The public half of a JWK (drops every private member). */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, ...pub } = jwk as JWK & { oth?: unknown };
  return pub;
}

/** The network signs with RSA (RS256 by default, PS256 for clients that ask). */
export const NETWORK_KEY_ALG = 'RS256';
