/**
 * Short-lived OIDC artifacts (interactions, sessions, codes, tokens, grants,
 * PAR requests, proxy codes) in Redis, when REDIS_URL is set: every record is a
 * hash with a TTL, so expiry is Redis's job. Durable data (applications, banks,
 * accounts, keys, console) stays in the SQL store. Every command has a timeout.
 */
import { Redis } from 'ioredis';
import type { OidcRecord } from './store.js';

export interface ArtifactStore {
  upsert(model: string, id: string, payload: Record<string, unknown>, expiresIn: number | undefined): Promise<void>;
  find(model: string, id: string): Promise<OidcRecord | undefined>;
  findByUid(model: string, uid: string): Promise<OidcRecord | undefined>;
  findByUserCode(model: string, userCode: string): Promise<OidcRecord | undefined>;
  take(model: string, id: string): Promise<OidcRecord | undefined>;
  consume(model: string, id: string): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /** Makes a record expire now (operators and tests). */
  expireNow(model: string, id: string): Promise<void>;
}

const CONSUME = `if redis.call('exists', KEYS[1]) == 1 then return redis.call('hset', KEYS[1], 'consumed', ARGV[1]) end return 0`;

export class RedisArtifacts implements ArtifactStore {
  constructor(
    readonly redis: Redis,
    private readonly prefix = 'tl:',
  ) {}

  static connect(url: string, prefix = 'tl:'): RedisArtifacts {
    const redis = new Redis(url, { connectTimeout: 5000, commandTimeout: 5000, maxRetriesPerRequest: 2, enableAutoPipelining: true });
    redis.on('error', () => {
      /* surfaced by the failing command; readiness reports it */
    });
    return new RedisArtifacts(redis, prefix);
  }

  private key = (model: string, id: string) => `${this.prefix}${model}:${id}`;
  private index = (model: string, kind: 'uid' | 'user_code' | 'grant', value: string) => `${this.prefix}${model}:${kind}:${value}`;

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresIn: number | undefined): Promise<void> {
    const key = this.key(model, id);
    const m = this.redis.multi().hset(key, 'payload', JSON.stringify(payload));
    if (expiresIn) m.expire(key, expiresIn);
    else m.persist(key);
    const ttl = expiresIn ?? 0;
    for (const [kind, value] of [['uid', payload.uid], ['user_code', payload.userCode]] as const) {
      if (typeof value !== 'string') continue;
      const ik = this.index(model, kind, value);
      if (ttl) m.set(ik, id, 'EX', ttl);
      else m.set(ik, id);
    }
    if (typeof payload.grantId === 'string') {
      const gk = this.index(model, 'grant', payload.grantId);
      m.sadd(gk, id);
      // the grant's index lives as long as its longest member
      if (ttl) m.expire(gk, ttl, 'NX').expire(gk, ttl, 'GT');
    }
    await m.exec();
  }

  private static record(h: Record<string, string>): OidcRecord | undefined {
    if (!h.payload) return undefined;
    return { payload: JSON.parse(h.payload) as Record<string, unknown>, expiresAt: null, consumedAt: h.consumed ? Number(h.consumed) : null };
  }

  async find(model: string, id: string): Promise<OidcRecord | undefined> {
    return RedisArtifacts.record(await this.redis.hgetall(this.key(model, id)));
  }

  async findByUid(model: string, uid: string): Promise<OidcRecord | undefined> {
    const id = await this.redis.get(this.index(model, 'uid', uid));
    return id ? this.find(model, id) : undefined;
  }

  async findByUserCode(model: string, userCode: string): Promise<OidcRecord | undefined> {
    const id = await this.redis.get(this.index(model, 'user_code', userCode));
    return id ? this.find(model, id) : undefined;
  }

  async take(model: string, id: string): Promise<OidcRecord | undefined> {
    const key = this.key(model, id);
    const res = await this.redis.multi().hgetall(key).del(key).exec();
    const h = res?.[0]?.[1] as Record<string, string> | undefined;
    return h ? RedisArtifacts.record(h) : undefined;
  }

  async consume(model: string, id: string): Promise<void> {
    await this.redis.eval(CONSUME, 1, this.key(model, id), String(Math.floor(Date.now() / 1000)));
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.redis.del(this.key(model, id));
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    const gk = this.index(model, 'grant', grantId);
    const ids = await this.redis.smembers(gk);
    await this.redis.del(gk, ...ids.map((id) => this.key(model, id)));
  }

  async expireNow(model: string, id: string): Promise<void> {
    await this.redis.del(this.key(model, id));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Deletes every key under this prefix (tests). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await this.redis.del(...keys);
    } while (cursor !== '0');
  }
}
