import {
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyClaim,
  type IdempotencyStore,
  newClaimToken,
} from '@corbel/core';
import { guardRedis } from './redis-errors.js';
import type { RedisLog } from './redis-log.js';

export interface RedisIdempotencyOptions {
  /** How long a done record is kept (default 24 h). */
  ttlMs?: number | undefined;
}

/**
 * Claims a record. KEYS[1] = record; ARGV = fingerprint, token, lease ms.
 * A pending record is a hash { f, t } whose key expires with its lease, so a
 * crashed holder's claim lapses by itself; a done record is { f, s, b }.
 */
const CLAIM_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'f', 't', 's', 'b')
if not h[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'f', ARGV[1], 't', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed'}
end
if h[1] ~= ARGV[1] then return {'mismatch'} end
if h[2] then return {'pending'} end
return {'done', h[3], h[4]}
`;

/** Completes a claim. KEYS[1] = record; ARGV = token, status, body, ttl ms. 1 when it was still ours. */
const COMPLETE_SCRIPT = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 't')
redis.call('HSET', KEYS[1], 's', ARGV[2], 'b', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/** Releases a claim. KEYS[1] = record; ARGV = token. */
const RELEASE_SCRIPT = `
if redis.call('HGET', KEYS[1], 't') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Idempotency records shared by every instance on one Redis: a repeat sent
 * to any instance gets the response the first one recorded, and a repeat
 * while the first is still running sees its pending record. Expiry (the
 * lease of a pending record, the TTL of a done one) is Redis' own `PEXPIRE`;
 * the number of records is bounded by the TTL and Redis' `maxmemory` policy.
 * Each script touches one key, so it runs on a Redis Cluster shard too.
 *
 * Keys: `<prefix>idem:<scope>` (a hash).
 *
 * @example
 * const log = await openRedisLog({ url });
 * const server = createCorbelServer({ router, idempotency: createRedisIdempotency(log) });
 */
export function createRedisIdempotency(log: RedisLog, opts: RedisIdempotencyOptions = {}): IdempotencyStore {
  const { redis, keyPrefix } = log;
  const ttlMs = opts.ttlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs;
  const key = (scope: string) => `${keyPrefix}idem:${scope}`;
  return {
    kind: 'redis',
    ttlMs,
    claim(scope, fingerprint, leaseMs) {
      return guardRedis('claim an idempotency key', async () => {
        const token = newClaimToken();
        const reply = (await redis.eval(
          CLAIM_SCRIPT,
          1,
          key(scope),
          fingerprint,
          token,
          String(Math.max(1, Math.round(leaseMs))),
        )) as [string, string?, string?];
        switch (reply[0]) {
          case 'claimed':
            return { state: 'claimed', token } satisfies IdempotencyClaim;
          case 'done':
            return { state: 'done', response: { status: Number(reply[1]), body: reply[2] ?? '' } };
          case 'pending':
            return { state: 'pending' };
          default:
            return { state: 'mismatch' };
        }
      });
    },
    complete(scope, token, response) {
      return guardRedis('record an idempotent response', async () => {
        const done = await redis.eval(
          COMPLETE_SCRIPT,
          1,
          key(scope),
          token,
          String(response.status),
          response.body,
          String(ttlMs),
        );
        return done === 1;
      });
    },
    release(scope, token) {
      return guardRedis('release an idempotency key', async () => {
        await redis.eval(RELEASE_SCRIPT, 1, key(scope), token);
      });
    },
  };
}
