/**
 * Operator CLI: `npm run cli -- <group> <command> [options]`.
 *   apps create --name N --redirect-uri U [--redirect-uri U2] [--auth-method M] [--kind sandbox|production]
 *               [--logo-uri U] [--origin-url U] [--subject-type public|pairwise] [--jwks-uri U] [--jwks JSON]
 *   apps list | apps rotate-secret <client_id> | apps delete <client_id>
 *   banks add --slug S --name N --kind oidc|oauth2 --client-id ID (--issuer U | --authorization-url U --token-url U --userinfo-url U)
 *             [--auth-method client_secret_basic|client_secret_post|private_key_jwt] [--client-secret S] [--private-jwk JSON]
 *             [--scope S] [--claim-mapping JSON] [--logo-url U] [--countries US,CA] [--sandbox] [--hidden] [--no-pkce] [--timeout-ms N]
 *   banks list | banks disable <id|slug> | banks enable <id|slug>
 *   keys list [--owner network] | keys rotate [--owner network]
 * Uses the same configuration (DATABASE_URL / SQLITE_PATH) as the server.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { Store, CLIENT_AUTH_METHODS, type ClientAuthMethod } from '../store/store.js';
import { rotateKeys, publicJwk, NETWORK_KEY_ALG } from '../keys/keys.js';
import { SANDBOX_BANKS } from '../sandbox-banks/index.js';
import { isLoopbackHost } from '../http/crypto.js';

export class UsageError extends Error {}

function validUrl(value: string, what: string, { allowHttpLocalhost = true } = {}): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${what} "${value}" is not a valid URL`);
  }
  const loopback = isLoopbackHost(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && allowHttpLocalhost && loopback)) {
    throw new UsageError(`${what} "${value}" must be https (http is allowed only for localhost)`);
  }
  if (u.hash) throw new UsageError(`${what} "${value}" must not contain a fragment`);
  return u.href;
}

function json<T>(value: string | undefined, what: string): T | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

export async function runCli(argv: string[], store: Store, out: (line: string) => void): Promise<void> {
  const [group, command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'auth-method': { type: 'string' },
      kind: { type: 'string' },
      'logo-uri': { type: 'string' },
      'origin-url': { type: 'string' },
      'subject-type': { type: 'string' },
      'jwks-uri': { type: 'string' },
      jwks: { type: 'string' },
      slug: { type: 'string' },
      issuer: { type: 'string' },
      'authorization-url': { type: 'string' },
      'token-url': { type: 'string' },
      'userinfo-url': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'private-jwk': { type: 'string' },
      scope: { type: 'string' },
      'claim-mapping': { type: 'string' },
      'logo-url': { type: 'string' },
      countries: { type: 'string' },
      sandbox: { type: 'boolean' },
      hidden: { type: 'boolean' },
      'no-pkce': { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      owner: { type: 'string' },
      json: { type: 'boolean' },
    },
  });

  const key = `${group ?? ''} ${command ?? ''}`.trim();
  switch (key) {
    case 'apps create': {
      if (!values.name?.trim()) throw new UsageError('--name is required');
      const redirectUris = (values['redirect-uri'] ?? []).map((u) => validUrl(u, 'redirect URI'));
      if (!redirectUris.length) throw new UsageError('at least one --redirect-uri is required');
      const authMethod = (values['auth-method'] ?? 'client_secret_basic') as ClientAuthMethod;
      if (!CLIENT_AUTH_METHODS.includes(authMethod)) throw new UsageError(`--auth-method must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
      const kind = values.kind ?? 'sandbox';
      if (kind !== 'sandbox' && kind !== 'production') throw new UsageError('--kind must be sandbox or production');
      const subjectType = values['subject-type'] ?? 'public';
      if (subjectType !== 'public' && subjectType !== 'pairwise') throw new UsageError('--subject-type must be public or pairwise');
      const jwks = json<{ keys: Record<string, unknown>[] }>(values.jwks, '--jwks');
      if (jwks) {
        if (!Array.isArray(jwks.keys)) throw new UsageError('--jwks must be a JWK Set: {"keys": [...]}');
        if (jwks.keys.some((k) => PRIVATE_MEMBERS.some((m) => m in k))) throw new UsageError('--jwks must contain public keys only (a private key was given)');
      }
      if (authMethod === 'private_key_jwt' && !jwks && !values['jwks-uri']) throw new UsageError('private_key_jwt needs --jwks or --jwks-uri');
      const { application, clientSecret } = await store.createApplication({
        name: values.name.trim(),
        redirectUris,
        authMethod,
        kind,
        subjectType,
        logoUri: values['logo-uri'] ? validUrl(values['logo-uri'], 'logo URI') : null,
        originUrl: values['origin-url'] ? validUrl(values['origin-url'], 'origin URL') : null,
        jwks: jwks ?? null,
        jwksUri: values['jwks-uri'] ? validUrl(values['jwks-uri'], 'JWKS URI') : null,
      });
      if (values.json) out(JSON.stringify({ client_id: application.clientId, client_secret: clientSecret }));
      else {
        out(`Created ${application.kind} application "${application.name}"`);
        out(`client_id     ${application.clientId}`);
        if (clientSecret) out(`client_secret ${clientSecret}`);
        if (clientSecret) out('The client secret is shown only now; store it safely (rotate it with `apps rotate-secret`).');
      }
      return;
    }
    case 'apps list': {
      const apps = await store.listApplications();
      if (values.json) return out(JSON.stringify(apps.map(({ secretHash: _s, ...a }) => a)));
      for (const a of apps) out(`${a.clientId}\t${a.kind}\t${a.authMethod}\t${a.name}\t${a.redirectUris.join(' ')}`);
      if (!apps.length) out('no applications');
      return;
    }
    case 'apps rotate-secret': {
      const id = positionals[0];
      if (!id) throw new UsageError('usage: apps rotate-secret <client_id>');
      const app = await store.getApplication(id);
      if (!app) throw new UsageError(`no application ${id}`);
      if (!app.secretHash) throw new UsageError(`application ${id} uses ${app.authMethod}: it has no secret`);
      const secret = await store.rotateApplicationSecret(id);
      out(`client_secret ${secret}`);
      out('The previous secret no longer works.');
      return;
    }
    case 'apps delete': {
      const id = positionals[0];
      if (!id) throw new UsageError('usage: apps delete <client_id>');
      if (!(await store.deleteApplication(id))) throw new UsageError(`no application ${id}`);
      out(`deleted ${id}`);
      return;
    }
    case 'banks add': {
      const slug = values.slug?.trim();
      if (!slug || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) throw new UsageError('--slug is required: lowercase letters, digits and dashes');
      if (!values.name?.trim()) throw new UsageError('--name is required');
      const kind = values.kind;
      if (kind !== 'oidc' && kind !== 'oauth2') throw new UsageError('--kind must be oidc or oauth2');
      if (!values['client-id']) throw new UsageError("--client-id (the network's client id at the bank) is required");
      if (kind === 'oidc' && !values.issuer) throw new UsageError('oidc banks need --issuer');
      if (kind === 'oauth2' && (!values['authorization-url'] || !values['token-url'] || !values['userinfo-url'])) {
        throw new UsageError('oauth2 banks need --authorization-url, --token-url and --userinfo-url');
      }
      const authMethod = (values['auth-method'] ?? 'client_secret_basic') as 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
      if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt'].includes(authMethod)) throw new UsageError('--auth-method must be client_secret_basic, client_secret_post or private_key_jwt');
      const privateJwk = json<Record<string, unknown>>(values['private-jwk'], '--private-jwk');
      if (authMethod === 'private_key_jwt' && !privateJwk?.d) throw new UsageError('private_key_jwt needs --private-jwk (the private key the network signs with)');
      if (authMethod !== 'private_key_jwt' && !values['client-secret']) throw new UsageError(`${authMethod} needs --client-secret`);
      const claimMapping = json<Record<string, string>>(values['claim-mapping'], '--claim-mapping') ?? {};
      if (await store.getBank(slug)) throw new UsageError(`a bank with slug ${slug} exists already`);
      const timeout = values['timeout-ms'] ? Number(values['timeout-ms']) : null;
      if (timeout !== null && (!Number.isInteger(timeout) || timeout < 100 || timeout > 120000)) throw new UsageError('--timeout-ms must be 100..120000');
      const bank = await store.createBank({
        slug,
        name: values.name.trim(),
        kind,
        logoUrl: values['logo-url'] ? validUrl(values['logo-url'], 'logo URL') : null,
        countries: (values.countries ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean),
        issuer: values.issuer ? validUrl(values.issuer, 'issuer').replace(/\/$/, values.issuer.endsWith('/') ? '/' : '') : null,
        authorizationUrl: values['authorization-url'] ? validUrl(values['authorization-url'], 'authorization URL') : null,
        tokenUrl: values['token-url'] ? validUrl(values['token-url'], 'token URL') : null,
        userinfoUrl: values['userinfo-url'] ? validUrl(values['userinfo-url'], 'userinfo URL') : null,
        clientId: values['client-id'],
        authMethod,
        credentials: { ...(values['client-secret'] ? { client_secret: values['client-secret'] } : {}), ...(privateJwk ? { private_jwk: privateJwk } : {}) },
        scope: values.scope ?? (kind === 'oidc' ? 'openid email profile address phone' : ''),
        claimMapping,
        pkce: !values['no-pkce'],
        visible: !values.hidden,
        sandbox: Boolean(values.sandbox),
        timeoutMs: timeout,
      });
      out(`Added bank ${bank.name}: id ${bank.id}, slug ${bank.slug}`);
      if (privateJwk) out(`Register this public key at the bank: ${JSON.stringify(publicJwk(privateJwk))}`);
      return;
    }
    case 'banks list': {
      const banks = await store.listBanks();
      if (values.json) return out(JSON.stringify(banks.map(({ credentials: _c, ...b }) => b)));
      out('id\tslug\tname\tkind\tvisible\tsandbox\tissuer');
      for (const b of banks) out(`${b.id}\t${b.slug}\t${b.name}\t${b.kind}\t${b.visible ? 'yes' : 'no'}\t${b.sandbox ? 'yes' : 'no'}\t${b.issuer ?? b.authorizationUrl ?? ''}`);
      return;
    }
    case 'banks disable':
    case 'banks enable': {
      const which = positionals[0];
      if (!which) throw new UsageError(`usage: banks ${command} <id|slug>`);
      const bank = await store.getBank(which);
      if (!bank) throw new UsageError(`no bank ${which}`);
      await store.updateBank(bank.id, { visible: command === 'enable' });
      out(`${bank.name} is now ${command === 'enable' ? 'enabled' : 'disabled (hidden from the chooser and refused by identity_provider_id)'}`);
      return;
    }
    case 'keys list': {
      const owner = values.owner ?? 'network';
      for (const k of await store.listKeys(owner)) out(`${k.kid}\t${k.alg}\t${k.status}\tcreated ${new Date(k.createdAt * 1000).toISOString()}`);
      return;
    }
    case 'keys rotate': {
      const owner = values.owner ?? 'network';
      const alg = owner === 'network' ? NETWORK_KEY_ALG : SANDBOX_BANKS.find((b) => `sandbox:${b.slug}` === owner)?.alg;
      if (!alg) throw new UsageError(`unknown key owner ${owner}`);
      const { kid, retired } = await rotateKeys(store, owner, alg);
      out(`New signing key ${kid} for ${owner}; retired ${retired.join(', ') || 'none'} (still published for verification for 24 h).`);
      out(owner === 'network' ? 'Running nodes pick the new key up within KEYS_REFRESH_SECONDS (default 60 s).' : 'Restart the nodes serving this sandbox bank to sign with the new key.');
      return;
    }
    default:
      throw new UsageError(`unknown command "${key}". Commands: apps create|list|rotate-secret|delete, banks add|list|disable|enable, keys list|rotate`);
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/cli/index.ts');
if (isMain) {
  let store: Store | undefined;
  try {
    const config = loadConfig();
    store = await Store.open({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath, redisUrl: config.redisUrl });
    await runCli(process.argv.slice(2), store, (l) => console.log(l));
    await store.close();
  } catch (err) {
    await store?.close().catch(() => {});
    if (err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${(err as Error).message}`);
      process.exit(2);
    }
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
