import { randomBytes } from 'node:crypto';
import type { SharedLimitStore } from '@corbel/core';
import { guardRedis } from './redis-errors.js';
import type { RedisLog } from './redis-log.js';

export interface RedisLimitsOptions {
  /**
   * How long this instance's stream counts stay valid without renewal
   * (default 15 s): the streams of an instance that dies stop counting
   * this long after its last renewal. Renewed every third of it.
   */
  leaseMs?: number | undefined;
  /** This instance's name in the counts (default: random). */
  instanceId?: string | undefined;
}

/** Redis' clock in ms, inside a script. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Command rate, GCRA (a token bucket kept as one "theoretical arrival
 * time"). KEYS[1] = the identity's TAT; ARGV = n, perSecond, burst.
 * Returns 0 (taken) or the seconds to wait.
 */
const RATE_SCRIPT = `${NOW}
local n = tonumber(ARGV[1])
local emission = 1000 / tonumber(ARGV[2])
local tolerance = emission * tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next = tat + emission * n
local allowAt = next - tolerance
if allowAt > now then return math.max(1, math.ceil((allowAt - now) / 1000)) end
redis.call('SET', KEYS[1], string.format('%.3f', next), 'PX', math.ceil(next - now) + 1000)
return 0
`;

/**
 * Takes a stream slot. KEYS[1] = the identity's counts (a hash instance →
 * streams), KEYS[2] = the instances' leases (a sorted set instance → expiry);
 * ARGV = instance, max, counts' ttl ms. Counts of instances whose lease has
 * lapsed are dropped first. Returns 1 (taken) or 0.
 */
const ACQUIRE_SCRIPT = `${NOW}
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local until_ = tonumber(redis.call('ZSCORE', KEYS[2], fields[i]) or '0')
  if fields[i] ~= ARGV[1] and until_ < now then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    total = total + tonumber(fields[i + 1])
  end
end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** Gives a slot back. KEYS[1] = counts; ARGV = instance. */
const RELEASE_SCRIPT = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n
`;

/**
 * Renews this instance's lease and re-asserts its counts (correcting a
 * release lost to an outage). KEYS[1] = leases, KEYS[2..] = counts;
 * ARGV = instance, lease ms, counts' ttl ms, then one count per KEYS[2..].
 */
const RENEW_SCRIPT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 10 * tonumber(ARGV[2]))
for i = 2, #KEYS do
  local n = tonumber(ARGV[i + 2])
  if n > 0 then
    redis.call('HSET', KEYS[i], ARGV[1], n)
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  else
    redis.call('HDEL', KEYS[i], ARGV[1])
  end
end
return 1
`;

/**
 * Per-identity limits shared by every instance on one Redis (the server's
 * `sharedLimits` option): command rates are one GCRA bucket per identity
 * (expiring once full again), streams are counted per instance under a
 * lease each instance renews every `leaseMs / 3`, so an instance that dies
 * stops counting once its lease lapses. Every check is one atomic script.
 *
 * Keys: `<prefix>limits:rate:<identity>`, `<prefix>limits:streams:<identity>`
 * (hashes), `<prefix>limits:instances` (a sorted set).
 *
 * @example
 * const store = await openRedisStore({ url });
 * const server = createCorbelServer({ router, store: store.log, sharedLimits: createRedisLimits(store.log) });
 */
export function createRedisLimits(log: RedisLog, opts: RedisLimitsOptions = {}): SharedLimitStore {
  const { redis, keyPrefix } = log;
  const leaseMs = opts.leaseMs ?? 15_000;
  const countsTtl = String(leaseMs * 4);
  const instance = opts.instanceId ?? randomBytes(8).toString('hex');
  const leases = `${keyPrefix}limits:instances`;
  const countsKey = (key: string) => `${keyPrefix}limits:streams:${key}`;
  /** This instance's streams per identity, as Redis should know them. */
  const mine = new Map<string, number>();
  let closed = false;

  const renew = async () => {
    const keys = [...mine.keys()];
    await redis.eval(
      RENEW_SCRIPT,
      1 + keys.length,
      leases,
      ...keys.map(countsKey),
      instance,
      String(leaseMs),
      countsTtl,
      ...keys.map((k) => String(mine.get(k) ?? 0)),
    );
    for (const k of keys) if ((mine.get(k) ?? 0) <= 0) mine.delete(k);
  };
  // Renewal failures are the outage the server already degrades for; the next round retries.
  const timer = setInterval(() => void renew().catch(() => {}), Math.max(100, Math.floor(leaseMs / 3)));
  timer.unref();
  const started = renew().catch(() => {});

  return {
    kind: 'redis',
    takeCommands(key, n, perSecond, burst) {
      return guardRedis('count a command', async () =>
        Number(
          await redis.eval(
            RATE_SCRIPT,
            1,
            `${keyPrefix}limits:rate:${key}`,
            String(n),
            String(perSecond),
            String(burst),
          ),
        ),
      );
    },
    acquireStream(key, max) {
      return guardRedis('count a stream', async () => {
        await started;
        const taken =
          (await redis.eval(ACQUIRE_SCRIPT, 2, countsKey(key), leases, instance, String(max), countsTtl)) ===
          1;
        if (taken) mine.set(key, (mine.get(key) ?? 0) + 1);
        return taken;
      });
    },
    releaseStream(key) {
      mine.set(key, Math.max(0, (mine.get(key) ?? 0) - 1));
      return guardRedis('release a stream', async () => {
        await redis.eval(RELEASE_SCRIPT, 1, countsKey(key), instance);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
    },
  };
}
