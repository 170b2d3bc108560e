import {
  type ConsumerPosition,
  type ConsumerPositions,
  DEFAULT_CONSUMER_TOMBSTONE_MS,
  DEFAULT_CONSUMER_TTL_MS,
} from '@corbel/core';
import { guardRedis } from './redis-errors.js';
import type { RedisLog } from './redis-log.js';

// Takes the claim when it is free (or lapsed) or already ours, renewing its lease; answers the holder and its lease left.
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {ARGV[1], tonumber(ARGV[2])}
end
return {holder, redis.call('PTTL', KEYS[1])}
`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

export interface RedisConsumersOptions {
  /** Idle time after which a durable consumer expires (default 24 hours). */
  ttlMs?: number | undefined;
}

/**
 * Durable consumers' positions shared by every instance on one Redis, so a
 * consumer that reconnects to another instance resumes after what it
 * acknowledged. Key: `<prefix>consumer:<owner>\n<name>\n<channel>`, a hash
 * (acked, delivered, lastSeenAt, ttlMs). Redis itself forgets a position 7
 * days after it expired (`PEXPIRE`); until then it is reported as expired.
 * The instance coordinating a consumer's group holds
 * `<prefix>consumer-claim:<owner>\n<name>\n<channel>` (its id, with a lease
 * Redis lets lapse), so two instances never hand one consumer's events out at once.
 *
 * @example
 * const log = await openRedisLog({ url });
 * const consumers = createDurableConsumers({ hub, positions: createRedisConsumers(log) });
 */
export function createRedisConsumers(log: RedisLog, opts: RedisConsumersOptions = {}): ConsumerPositions {
  const { redis, keyPrefix } = log;
  const ttlMs = opts.ttlMs ?? DEFAULT_CONSUMER_TTL_MS;
  const keyOf = (key: string) => `${keyPrefix}consumer:${key}`;
  const claimOf = (key: string) => `${keyPrefix}consumer-claim:${key}`;
  return {
    kind: 'redis',
    ttlMs,
    get(key) {
      return guardRedis('read a consumer position', async () => {
        const h = await redis.hgetall(keyOf(key));
        if (h.acked === undefined || h.delivered === undefined) return null;
        const lastSeenAt = Number(h.lastSeenAt);
        return {
          key,
          acked: h.acked,
          delivered: h.delivered,
          lastSeenAt,
          expiresAt: lastSeenAt + Number(h.ttlMs),
        };
      });
    },
    save(key, { acked, delivered }) {
      return guardRedis('save a consumer position', async () => {
        const lastSeenAt = Date.now();
        await redis
          .multi()
          .hset(keyOf(key), { acked, delivered, lastSeenAt: String(lastSeenAt), ttlMs: String(ttlMs) })
          .pexpire(keyOf(key), ttlMs + DEFAULT_CONSUMER_TOMBSTONE_MS)
          .exec();
        const position: ConsumerPosition = {
          key,
          acked,
          delivered,
          lastSeenAt,
          expiresAt: lastSeenAt + ttlMs,
        };
        return position;
      });
    },
    delete(key) {
      return guardRedis('delete a consumer position', async () => {
        await redis.del(keyOf(key));
      });
    },
    claim(key, instance, leaseMs) {
      return guardRedis('claim a consumer', async () => {
        const lease = Math.max(1, Math.round(leaseMs));
        const now = Date.now();
        const [holder, left] = (await redis.eval(CLAIM_SCRIPT, 1, claimOf(key), instance, String(lease))) as [
          string,
          number,
        ];
        return { holder, expiresAt: now + Math.max(0, Number(left)) };
      });
    },
    release(key, instance) {
      return guardRedis('release a consumer', async () => {
        await redis.eval(RELEASE_SCRIPT, 1, claimOf(key), instance);
      });
    },
  };
}
