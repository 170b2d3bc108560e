import {
  CorbelError,
  isSessionId,
  newSessionId,
  type SessionInfo,
  type SessionRegistry,
  sessionChannelName,
} from '@corbel/core';
import { toCorbelError } from './redis-errors.js';
import type { RedisLog } from './redis-log.js';

export interface RedisSessionsOptions {
  /** Idle time after which a session expires (default 30 minutes). */
  ttlMs?: number | undefined;
}

/**
 * Marks a live session seen (and merges data fields) atomically.
 * KEYS = session hash, index; ARGV = id, now, then field/value pairs.
 * Returns the hash, or false when the session is unknown or expired.
 */
const TOUCH_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'lastSeenAt', 'ttlMs')
if not h[1] then return false end
local now = tonumber(ARGV[2])
local ttl = tonumber(h[2])
if tonumber(h[1]) + ttl <= now then return false end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], string.format('%.0f', now + ttl), ARGV[1])
return redis.call('HGETALL', KEYS[1])
`;

/**
 * Removes the sessions whose expiry is at or before now, with their private
 * streams; each id is reported by exactly one instance (the one whose ZREM won).
 * KEYS = index; ARGV = now, session key prefix, stream key prefix of a session channel.
 */
const SWEEP_SCRIPT = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
local gone = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('DEL', ARGV[2] .. id, ARGV[3] .. id)
    table.insert(gone, id)
  end
end
return gone
`;

const DATA = 'd:';

/**
 * Sessions shared by every instance on one Redis: a session opened on one
 * instance is known, touched, listed and ended on all of them, and the idle
 * TTL is kept by Redis itself (`PEXPIRE`), so no instance has to be up for a
 * session to expire. A session's private channel lives in the same Redis log,
 * and sweeping or ending a session deletes it.
 *
 * Keys: `<prefix>session:<id>` (a hash: owner, createdAt, lastSeenAt, ttlMs,
 * one `d:<name>` field per data entry, JSON) and `<prefix>sessions` (a sorted
 * set of ids by expiry, for `list` and `sweep`).
 *
 * @example
 * const log = await openRedisLog({ url });
 * const sessions = createRedisSessions(log, { ttlMs: 600_000 });
 * const { id } = await sessions.open('alice');
 */
export function createRedisSessions(log: RedisLog, opts: RedisSessionsOptions = {}): SessionRegistry {
  const { redis, keyPrefix } = log;
  const ttlMs = opts.ttlMs ?? 30 * 60_000;
  const index = `${keyPrefix}sessions`;
  const sessionKey = (id: string) => `${keyPrefix}session:${id}`;
  const channelPrefix = log.streamKey(sessionChannelName('0'.repeat(32))).slice(0, -32);

  const guard = async <T>(doing: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw toCorbelError(error, doing);
    }
  };

  const info = (id: string, flat: string[] | Record<string, string>): SessionInfo | null => {
    const h: Record<string, string> = Array.isArray(flat) ? pairs(flat) : flat;
    if (h.owner === undefined || h.lastSeenAt === undefined) return null;
    const lastSeenAt = Number(h.lastSeenAt);
    const ttl = Number(h.ttlMs);
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(h))
      if (k.startsWith(DATA)) data[k.slice(DATA.length)] = JSON.parse(v);
    const s: SessionInfo = {
      id,
      owner: h.owner,
      createdAt: Number(h.createdAt),
      lastSeenAt,
      expiresAt: lastSeenAt + ttl,
      data,
    };
    return s.expiresAt > Date.now() ? s : null;
  };

  const dataFields = (data: Record<string, unknown> | undefined): string[] =>
    Object.entries(data ?? {}).flatMap(([k, v]) => [`${DATA}${k}`, JSON.stringify(v ?? null)]);

  return {
    kind: 'redis',
    ttlMs,
    open(owner, data = {}) {
      return guard('open a session', async () => {
        const now = Date.now();
        const id = newSessionId();
        const key = sessionKey(id);
        await redis
          .multi()
          .hset(
            key,
            'owner',
            owner,
            'createdAt',
            String(now),
            'lastSeenAt',
            String(now),
            'ttlMs',
            String(ttlMs),
            ...dataFields(data),
          )
          .pexpire(key, ttlMs)
          .zadd(index, String(now + ttlMs), id)
          .exec()
          .then(failedStep);
        return { id, owner, createdAt: now, lastSeenAt: now, expiresAt: now + ttlMs, data: { ...data } };
      });
    },
    get(id) {
      if (!isSessionId(id)) return Promise.resolve(null);
      return guard('read a session', async () => info(id, await redis.hgetall(sessionKey(id))));
    },
    touch(id, data) {
      if (!isSessionId(id)) return Promise.resolve(null);
      return guard('touch a session', async () => {
        const flat = (await redis.eval(
          TOUCH_SCRIPT,
          2,
          sessionKey(id),
          index,
          id,
          String(Date.now()),
          ...dataFields(data),
        )) as string[] | null;
        return flat ? info(id, flat) : null;
      });
    },
    list() {
      return guard('list sessions', async () => {
        const ids = await redis.zrangebyscore(index, `(${Date.now()}`, '+inf');
        if (ids.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(sessionKey(id));
        const replies = (await pipeline.exec()) ?? [];
        const out: SessionInfo[] = [];
        replies.forEach(([error, h], i) => {
          if (error) throw error;
          const s = info(ids[i]!, h as Record<string, string>);
          if (s) out.push(s);
        });
        return out.sort((a, b) => a.createdAt - b.createdAt);
      });
    },
    end(id) {
      if (!isSessionId(id)) return Promise.resolve();
      return guard('end a session', async () => {
        await redis
          .multi()
          .del(sessionKey(id), log.streamKey(sessionChannelName(id)))
          .zrem(index, id)
          .exec()
          .then(failedStep);
      });
    },
    sweep() {
      return guard('sweep sessions', async () => {
        const gone: string[] = [];
        for (let round = 0; round < 100; round++) {
          const ids = (await redis.eval(
            SWEEP_SCRIPT,
            1,
            index,
            String(Date.now()),
            `${keyPrefix}session:`,
            channelPrefix,
          )) as string[];
          gone.push(...ids);
          if (ids.length < 1000) break;
        }
        return gone;
      });
    },
  };
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Throws the first error of a MULTI's replies (ioredis resolves EXEC with per-step errors). */
function failedStep(replies: [Error | null, unknown][] | null): void {
  if (!replies) throw new CorbelError('STORE_UNAVAILABLE', 'Redis aborted the transaction');
  for (const [error] of replies) if (error) throw error;
}
