/**
 * Applications owned by a console account: the one service layer behind both
 * the console's pages (routes/applications.ts) and the management API
 * (routes/api.ts). It validates input, keeps every operation inside the
 * account's own applications, and writes the audit log.
 *
 * Another account's application is indistinguishable from a nonexistent one:
 * every lookup goes through `owned()`, which answers undefined for both.
 */
import { createPublicKey } from 'node:crypto';
import { isLoopbackHost } from '../http/crypto.js';
import type { Application, ClientAuthMethod, Store } from '../store/store.js';
import type { ConsoleRepository } from './repository.js';

/** The methods an application can choose in the console. */
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ConsoleAuthMethod = (typeof AUTH_METHODS)[number];

export const SECRET_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'];
export const usesSecret = (m: ClientAuthMethod): boolean => SECRET_METHODS.includes(m);

/** Field names (the API's JSON members and the form's input names) and their labels in the console. */
export const FIELDS = {
  token_endpoint_auth_method: 'Auth method',
  name: 'Application name',
  logo_uri: 'Application logo',
  origin_url: 'Origin URL',
  redirect_uris: 'Redirect URL',
  jwks_uri: 'JWK Set URI',
  jwks: 'JWK Set Content',
} as const;
export type Field = keyof typeof FIELDS;
export type FieldErrors = Partial<Record<Field, string>>;

export const APP_LIMITS = {
  name: 100,
  url: 2000,
  redirectUris: 20,
  jwksChars: 32 * 1024,
  jwksKeys: 20,
};

/** Private members of a JWK (RFC 7518 §6): a key holding any of them is a private (or symmetric) key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
export const PRIVATE_JWK_MESSAGE = 'JWK Set Content must contain public keys only: remove the private key (it must never leave your server)';


/** Input as it comes from a form (strings) or from the API (arrays, objects, null). */
export interface ApplicationInput {
  name?: unknown;
  logo_uri?: unknown;
  origin_url?: unknown;
  redirect_uris?: unknown;
  token_endpoint_auth_method?: unknown;
  jwks_uri?: unknown;
  jwks?: unknown;
}

export interface ValidApplication {
  name: string;
  logoUri: string | null;
  originUrl: string | null;
  redirectUris: string[];
  authMethod: ConsoleAuthMethod;
  jwksUri: string | null;
  jwks: { keys: Record<string, unknown>[] } | null;
}

export type Validation = { ok: true; value: ValidApplication } | { ok: false; errors: FieldErrors };

/** The form's text values for an application (what the HTML form shows and posts). */
export interface ApplicationFormValues {
  name: string;
  logo_uri: string;
  origin_url: string;
  redirect_uris: string;
  token_endpoint_auth_method: string;
  jwks_uri: string;
  jwks: string;
}

export const EMPTY_FORM: ApplicationFormValues = {
  name: '',
  logo_uri: '',
  origin_url: '',
  redirect_uris: '',
  token_endpoint_auth_method: 'client_secret_basic',
  jwks_uri: '',
  jwks: '',
};

export function formValuesOf(src: Record<string, string | undefined>): ApplicationFormValues {
  const v = (k: Field) => (typeof src[k] === 'string' ? src[k]! : '');
  return {
    name: v('name'),
    logo_uri: v('logo_uri'),
    origin_url: v('origin_url'),
    redirect_uris: v('redirect_uris'),
    token_endpoint_auth_method: v('token_endpoint_auth_method') || EMPTY_FORM.token_endpoint_auth_method,
    jwks_uri: v('jwks_uri'),
    jwks: v('jwks'),
  };
}

export function formValuesFromApplication(app: Application): ApplicationFormValues {
  return {
    name: app.name,
    logo_uri: app.logoUri ?? '',
    origin_url: app.originUrl ?? '',
    redirect_uris: app.redirectUris.join('\n'),
    token_endpoint_auth_method: app.authMethod,
    jwks_uri: app.jwksUri ?? '',
    jwks: app.jwks ? JSON.stringify(app.jwks, null, 2) : '',
  };
}

// ---------------------------------------------------------------- validation

const quote = (s: string): string => `"${s.length > 80 ? `${s.slice(0, 77)}...` : s}"`;

/**
 * Why `value` is not an acceptable URL for the field, or undefined when it is:
 * https, or http on localhost / 127.0.0.1 / [::1] only; no user:password@; no
 * fragment where the field says so.
 */
function urlProblem(label: string, value: string, opts: { noFragment?: boolean; named?: boolean } = {}): string | undefined {
  const subject = opts.named ? `${label} ${quote(value)}` : label;
  if (value.length > APP_LIMITS.url) return `${subject} is too long (at most ${APP_LIMITS.url} characters).`;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'javascript' || scheme === 'data' || scheme === 'vbscript' || scheme === 'file') {
    return `${subject} must be an https URL: ${scheme}: URLs are not allowed.`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${subject} is not a valid URL: enter a full address starting with https://, like https://example.com/.`;
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) return `${subject} must use https (http is allowed only for localhost and 127.0.0.1).`;
  } else if (url.protocol !== 'https:') {
    return `${subject} must be an https URL: ${url.protocol} URLs are not allowed.`;
  }
  if (!url.hostname) return `${subject} is not a valid URL: it has no host name.`;
  if (url.username || url.password) return `${subject} must not contain a user name or password.`;
  if (/\s/.test(value)) return `${subject} must not contain spaces.`;
  if (opts.noFragment && value.includes('#')) return `${subject} must not contain a fragment (the part starting with #).`;
  return undefined;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim() : v === null || v === undefined ? '' : undefined);

/** Validates an application's fields. Every error is a sentence naming the field. */
export function validateApplication(input: ApplicationInput): Validation {
  const errors: FieldErrors = {};

  // Auth method
  const rawMethod = text(input.token_endpoint_auth_method);
  const method = rawMethod === '' ? 'client_secret_basic' : (rawMethod ?? '');
  if (!(AUTH_METHODS as readonly string[]).includes(method)) {
    errors.token_endpoint_auth_method = `Auth method must be one of ${AUTH_METHODS.slice(0, -1).join(', ')} or ${AUTH_METHODS.at(-1)}.`;
  }

  // Application name
  const name = text(input.name);
  if (name === undefined) errors.name = 'Application name must be text.';
  else if (!name) errors.name = 'Application name is required: enter the name people see when they sign in.';
  else if ([...name].length > APP_LIMITS.name) errors.name = `Application name must be at most ${APP_LIMITS.name} characters (it has ${[...name].length}).`;
  else if (/[\u0000-\u001f\u007f]/.test(name)) errors.name = 'Application name must be on one line, without control characters.';

  // Application logo (optional)
  const logo = text(input.logo_uri);
  if (logo === undefined) errors.logo_uri = 'Application logo must be a URL (text).';
  else if (logo) {
    const p = urlProblem('Application logo', logo);
    if (p) errors.logo_uri = p;
  }

  // Origin URL (optional)
  const origin = text(input.origin_url);
  if (origin === undefined) errors.origin_url = 'Origin URL must be a URL (text).';
  else if (origin) {
    const p = urlProblem('Origin URL', origin);
    if (p) errors.origin_url = p;
  }

  // Redirect URL: one or more (one per line in the form, an array in the API)
  let redirectUris: string[] = [];
  const rawRedirects = input.redirect_uris;
  if (typeof rawRedirects === 'string') redirectUris = rawRedirects.split(/\s+/).filter(Boolean);
  else if (Array.isArray(rawRedirects) && rawRedirects.every((u) => typeof u === 'string')) redirectUris = (rawRedirects as string[]).map((u) => u.trim()).filter(Boolean);
  else if (rawRedirects !== undefined && rawRedirects !== null) errors.redirect_uris = 'Redirect URL must be a list of URLs.';
  if (!errors.redirect_uris) {
    redirectUris = [...new Set(redirectUris)];
    if (!redirectUris.length) errors.redirect_uris = 'Redirect URL is required: enter at least one URL (one per line) where your application receives the sign-in response.';
    else if (redirectUris.length > APP_LIMITS.redirectUris) errors.redirect_uris = `Redirect URL: enter at most ${APP_LIMITS.redirectUris} URLs (there are ${redirectUris.length}).`;
    else {
      const problems = redirectUris.map((u) => urlProblem('Redirect URL', u, { noFragment: true, named: redirectUris.length > 1 })).filter(Boolean);
      if (problems.length) errors.redirect_uris = problems.join(' ');
    }
  }

  // JWK Set URI / JWK Set Content: for private_key_jwt, exactly one of the two.
  const jwksUri = text(input.jwks_uri);
  if (jwksUri === undefined) errors.jwks_uri = 'JWK Set URI must be a URL (text).';
  else if (jwksUri) {
    const p = urlProblem('JWK Set URI', jwksUri);
    if (p) errors.jwks_uri = p;
  }
  let jwks: { keys: Record<string, unknown>[] } | null = null;
  const rawJwks = input.jwks;
  let jwksGiven = false;
  if (rawJwks !== undefined && rawJwks !== null && rawJwks !== '') {
    let parsed: unknown = rawJwks;
    if (typeof rawJwks === 'string') {
      jwksGiven = rawJwks.trim() !== '';
      if (rawJwks.length > APP_LIMITS.jwksChars) {
        errors.jwks = `JWK Set Content is too long (at most ${APP_LIMITS.jwksChars / 1024} KB).`;
        parsed = undefined;
      } else if (jwksGiven) {
        try {
          parsed = JSON.parse(rawJwks);
        } catch {
          errors.jwks = 'JWK Set Content is not valid JSON: paste a JWK Set like {"keys":[{"kty":"RSA","n":"...","e":"AQAB"}]}.';
          parsed = undefined;
        }
      } else parsed = undefined;
    } else jwksGiven = true;
    if (parsed !== undefined && !errors.jwks) {
      const problem = jwksProblem(parsed);
      if (problem) errors.jwks = problem;
      else jwks = parsed as { keys: Record<string, unknown>[] };
    }
  }

  if (method === 'private_key_jwt') {
    if (jwksUri && jwksGiven) errors.jwks_uri ??= 'Give either a JWK Set URI or a JWK Set Content, not both: private_key_jwt uses exactly one of them.';
    else if (!jwksUri && !jwksGiven) errors.jwks_uri ??= 'private_key_jwt needs your public keys: give either a JWK Set URI or a JWK Set Content.';
  } else if (!errors.token_endpoint_auth_method) {
    if (jwksUri) errors.jwks_uri ??= `JWK Set URI is used only with private_key_jwt: clear it, or choose private_key_jwt as the Auth method.`;
    if (jwksGiven) errors.jwks ??= `JWK Set Content is used only with private_key_jwt: clear it, or choose private_key_jwt as the Auth method.`;
  }

  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: name!,
      logoUri: logo || null,
      originUrl: origin || null,
      redirectUris,
      authMethod: method as ConsoleAuthMethod,
      jwksUri: method === 'private_key_jwt' && jwksUri ? jwksUri : null,
      jwks: method === 'private_key_jwt' ? jwks : null,
    },
  };
}

/** Why a parsed JWK Set is not acceptable (public keys only, each one a valid key), or undefined. */
function jwksProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Array.isArray((v as { keys?: unknown }).keys)) {
    return 'JWK Set Content must be a JSON object with a "keys" array, like {"keys":[{"kty":"RSA","n":"...","e":"AQAB"}]}.';
  }
  const keys = (v as { keys: unknown[] }).keys;
  if (!keys.length) return 'JWK Set Content has no keys: add at least one public key to "keys".';
  if (keys.length > APP_LIMITS.jwksKeys) return `JWK Set Content has too many keys (at most ${APP_LIMITS.jwksKeys}).`;
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) return `JWK Set Content: key ${i + 1} is not a JSON object.`;
    if (PRIVATE_MEMBERS.some((m) => m in key)) return PRIVATE_JWK_MESSAGE;
  }
  for (const [i, key] of keys.entries()) {
    const k = key as Record<string, unknown>;
    if (!['RSA', 'EC', 'OKP'].includes(k.kty as string)) return `JWK Set Content: key ${i + 1} must have "kty" RSA, EC or OKP.`;
    if (k.kty === 'OKP' && k.crv !== 'Ed25519' && k.crv !== 'Ed448') return `JWK Set Content: key ${i + 1} is an OKP key with "crv" ${JSON.stringify(k.crv)}: signing keys use Ed25519 or Ed448.`;
    try {
      createPublicKey({ key: k as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      return `JWK Set Content: key ${i + 1} is not a valid ${String(k.kty)} public key.`;
    }
    if (k.use !== undefined && k.use !== 'sig') return `JWK Set Content: key ${i + 1} has "use" "${String(k.use)}": keys for private_key_jwt must be signing keys ("use":"sig") or have no "use".`;
  }
  return undefined;
}

// ---------------------------------------------------------------- the API's view of an application

export interface ApplicationJson {
  client_id: string;
  name: string;
  logo_uri: string | null;
  origin_url: string | null;
  redirect_uris: string[];
  token_endpoint_auth_method: ClientAuthMethod;
  jwks_uri: string | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  kind: Application['kind'];
  created_at: string;
  updated_at: string;
  client_secret?: string;
}

/** What the API shows of an application: never the secret hash. */
export function applicationJson(app: Application, clientSecret?: string | null): ApplicationJson {
  return {
    client_id: app.clientId,
    name: app.name,
    logo_uri: app.logoUri,
    origin_url: app.originUrl,
    redirect_uris: app.redirectUris,
    token_endpoint_auth_method: app.authMethod,
    jwks_uri: app.jwksUri,
    jwks: app.jwks,
    kind: app.kind,
    created_at: new Date(app.createdAt * 1000).toISOString(),
    updated_at: new Date(app.updatedAt * 1000).toISOString(),
    ...(clientSecret ? { client_secret: clientSecret } : {}),
  };
}

// ---------------------------------------------------------------- the service

/** Who does something, for the audit log. */
export interface Actor {
  accountId: string;
  ip: string | null;
  /** console (the pages) or api (the management API) */
  via: 'console' | 'api';
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: 'not_found' } | { ok: false; error: 'invalid'; errors: FieldErrors } | { ok: false; error: 'no_secret' };

export class ApplicationService {
  constructor(private readonly deps: { store: Store; repo: ConsoleRepository }) {}

  /** The account's applications, oldest first. */
  list(accountId: string): Promise<Application[]> {
    return this.deps.store.listApplications(accountId);
  }

  /** The application if this account owns it; undefined for another account's and for an unknown one alike. */
  async owned(accountId: string, clientId: string): Promise<Application | undefined> {
    if (!clientId || clientId.length > 200) return undefined;
    const app = await this.deps.store.getApplication(clientId);
    return app && app.ownerId === accountId ? app : undefined;
  }

  /** Creates a sandbox application owned by the account; the secret (secret-based methods) is returned once. */
  async create(actor: Actor, input: ApplicationInput): Promise<Outcome<{ application: Application; clientSecret: string | null }>> {
    const v = validateApplication(input);
    if (!v.ok) return { ok: false, error: 'invalid', errors: v.errors };
    const created = await this.deps.store.createApplication({ ...v.value, ownerId: actor.accountId, kind: 'sandbox' });
    await this.audit(actor, 'application_created', created.application);
    return { ok: true, value: created };
  }

  /** Replaces the application's editable fields with `input` (validated as a whole). */
  async update(actor: Actor, clientId: string, input: ApplicationInput): Promise<Outcome<{ application: Application; clientSecret: string | null }>> {
    const app = await this.owned(actor.accountId, clientId);
    if (!app) return { ok: false, error: 'not_found' };
    const v = validateApplication(input);
    if (!v.ok) return { ok: false, error: 'invalid', errors: v.errors };
    const updated = await this.deps.store.updateApplication(app.clientId, v.value);
    if (!updated) return { ok: false, error: 'not_found' };
    const changed = (Object.keys(FIELDS) as Field[]).filter((f) => JSON.stringify(fieldOf(app, f)) !== JSON.stringify(fieldOf(updated.application, f)));
    await this.audit(actor, 'application_updated', updated.application, { changed: changed.join(' ') || 'nothing' });
    if (updated.clientSecret) await this.audit(actor, 'secret_rotated', updated.application, { reason: 'auth method changed' });
    return { ok: true, value: updated };
  }

  /** Issues a new secret; the old one stops working at once. */
  async rotateSecret(actor: Actor, clientId: string): Promise<Outcome<{ application: Application; clientSecret: string }>> {
    const app = await this.owned(actor.accountId, clientId);
    if (!app) return { ok: false, error: 'not_found' };
    if (!usesSecret(app.authMethod)) return { ok: false, error: 'no_secret' };
    const secret = await this.deps.store.rotateApplicationSecret(app.clientId);
    if (!secret) return { ok: false, error: 'not_found' };
    await this.audit(actor, 'secret_rotated', app);
    return { ok: true, value: { application: (await this.deps.store.getApplication(app.clientId)) ?? app, clientSecret: secret } };
  }

  async delete(actor: Actor, clientId: string): Promise<Outcome<Application>> {
    const app = await this.owned(actor.accountId, clientId);
    if (!app) return { ok: false, error: 'not_found' };
    if (!(await this.deps.store.deleteApplication(app.clientId))) return { ok: false, error: 'not_found' };
    await this.audit(actor, 'application_deleted', app);
    return { ok: true, value: app };
  }

  private audit(actor: Actor, event: string, app: Application, extra: Record<string, unknown> = {}): Promise<void> {
    return this.deps.repo.audit(actor.accountId, event, { client_id: app.clientId, name: app.name, via: actor.via, ...extra }, actor.ip);
  }
}

/** An application's value for a field, in the API's terms (to compare before and after an update). */
function fieldOf(app: Application, f: Field): unknown {
  return applicationJson(app)[f];
}

/** The API input that an application's current values amount to (PATCH merges onto this). */
export function inputOf(app: Application): ApplicationInput {
  const j = applicationJson(app);
  return { name: j.name, logo_uri: j.logo_uri, origin_url: j.origin_url, redirect_uris: j.redirect_uris, token_endpoint_auth_method: j.token_endpoint_auth_method, jwks_uri: j.jwks_uri, jwks: j.jwks };
}
