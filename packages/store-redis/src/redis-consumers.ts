import {
  type ConsumerPosition,
  type ConsumerPositions,
  DEFAULT_CONSUMER_TOMBSTONE_MS,
  DEFAULT_CONSUMER_TTL_MS,
} from '@corbel/core';
import { toCorbelError } from './redis-errors.js';
import type { RedisLog } from './redis-log.js';

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
 *
 * @example
 * const log = await openRedisLog({ url });
 * const consumers = createDurableConsumers({ hub, positions: createRedisConsumers(log) });
 */
export function createRedisConsumers(log: RedisLog, opts: RedisConsumersOptions = {}): ConsumerPositions {
  const { redis, keyPrefix } = log;
  const ttlMs = opts.ttlMs ?? DEFAULT_CONSUMER_TTL_MS;
  const keyOf = (key: string) => `${keyPrefix}consumer:${key}`;
  const guard = async <T>(doing: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw toCorbelError(error, doing);
    }
  };
  return {
    kind: 'redis',
    ttlMs,
    get(key) {
      return guard('read a consumer position', async () => {
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
      return guard('save a consumer position', async () => {
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
      return guard('delete a consumer position', async () => {
        await redis.del(keyOf(key));
      });
    },
  };
}
