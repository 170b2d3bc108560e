import { CorbelError, type EventLog, type ReadOptions, type Retention, type StoredEvent } from '@corbel/core';
import { START_EVENT_ID } from '@corbel/core/internal';
import { Redis, type RedisOptions } from 'ioredis';
import superjson from 'superjson';
import { assertNotCluster } from './redis-cluster-check.js';
import { toCorbelError } from './redis-errors.js';
import { compareStreamIds, isStreamId, short, streamIdMs } from './redis-ids.js';
import { APPEND_ONCE_SCRIPT, APPEND_SCRIPT, READ_SCRIPT } from './scripts.js';
import { type RawEntry, StreamTail } from './stream-tail.js';

export interface RedisLogOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://` for TLS). */
  url?: string | undefined;
  /** Extra ioredis options (TLS, Sentinel, username…); Corbel's failure settings win. */
  redis?: RedisOptions | undefined;
  /** Prefix of every key this log writes (default "corbel:"); one prefix = one history. */
  keyPrefix?: string | undefined;
  /** Retention per channel; default keeps about the newest 10,000 events. */
  retention?: Retention | undefined;
  /** Overrides retention for single channels, by name. */
  channels?: Record<string, Retention> | undefined;
  /** A command that gets no answer within this many ms fails with STORE_UNAVAILABLE (default 5000). */
  commandTimeoutMs?: number | undefined;
  /** How long `openRedisLog` waits for the first connection (default 5000 ms). */
  connectTimeoutMs?: number | undefined;
  /** Longest XREAD BLOCK of the live feed (default 5000 ms). */
  blockMs?: number | undefined;
}

/** The Redis event log; `redis` is its command connection (sessions share it). */
export interface RedisLog extends EventLog {
  readonly kind: 'redis';
  readonly redis: Redis;
  readonly keyPrefix: string;
  tail: NonNullable<EventLog['tail']>;
  ping: NonNullable<EventLog['ping']>;
  /** Channels the live feed currently reads (one XREAD covers them all). */
  tailedChannels(): string[];
  /** The stream key of a channel. */
  streamKey(channel: string): string;
}

/** Failure settings that make Redis trouble visible at once instead of queued. */
const FAIL_FAST: RedisOptions = {
  // Refuse commands while disconnected: a publish fails with STORE_UNAVAILABLE
  // right away instead of waiting in a queue with the client's request.
  enableOfflineQueue: false,
  // Commands in flight when the connection drops are rejected, never silently
  // re-sent later (a re-sent XADD would publish an event its caller was told failed).
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  // Reconnect forever, quickly: recovery needs no restart.
  retryStrategy: (attempt) => Math.min(50 * attempt, 500),
};

/**
 * Opens an event log on Redis Streams, shared by every server instance that
 * uses the same Redis and key prefix: one stream per channel, the stream id is
 * the event id (valid on every instance), `XADD` with approximate
 * `MAXLEN ~`/`MINID ~` trimming, and one blocking `XREAD` connection per
 * process for live delivery (`tail`). Resolves once Redis answers.
 *
 * @example
 * const log = await openRedisLog({ url: 'redis://127.0.0.1:6379', retention: { maxCount: 100_000 } });
 * const hub = createHub({ log });
 */
export async function openRedisLog(opts: RedisLogOptions = {}): Promise<RedisLog> {
  const keyPrefix = opts.keyPrefix ?? 'corbel:';
  const options: RedisOptions = {
    ...opts.redis,
    ...FAIL_FAST,
    lazyConnect: true,
    commandTimeout: opts.commandTimeoutMs ?? 5000,
    connectionName: 'corbel-commands',
  };
  const redis = opts.url ? new Redis(opts.url, options) : new Redis(options);
  // ioredis reports every failed reconnect as an 'error' event; callers see
  // failures as CorbelErrors on their calls instead.
  let lastError: unknown;
  redis.on('error', (error) => {
    lastError = error;
  });
  try {
    await withTimeout(redis.connect(), opts.connectTimeoutMs ?? 5000);
  } catch (error) {
    redis.disconnect();
    // "Connection is closed" says less than the socket error behind it (ECONNREFUSED, ENOTFOUND…).
    throw toCorbelError(lastError ?? error, `connect to ${describeTarget(opts.url)}`);
  }
  try {
    await assertNotCluster(redis, describeTarget(opts.url));
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return createRedisLog(redis, { ...opts, keyPrefix });
}

function createRedisLog(redis: Redis, opts: RedisLogOptions & { keyPrefix: string }): RedisLog {
  const { keyPrefix } = opts;
  const blockMs = opts.blockMs ?? 5000;
  let closed = false;
  let tail: StreamTail | null = null;
  let reader: Redis | null = null;

  const keyOf = (channel: string) => `${keyPrefix}stream:${channel}`;
  const retentionOf = (channel: string): Retention =>
    opts.channels?.[channel] ?? opts.retention ?? { maxCount: 10_000 };

  const decode = (channel: string, [id, fields]: RawEntry): StoredEvent => ({
    id,
    channel,
    payload: superjson.parse(field(fields, 'p') ?? 'null'),
    at: streamIdMs(id),
  });

  const assertOpen = () => {
    if (closed) throw new CorbelError('CLOSED', 'the Redis log is closed');
  };

  /** Validates `after`, then reads up to `limit` events after it (limit 0: validate only). */
  const readAfter = async (channel: string, after: string | undefined, limit: number) => {
    assertOpen();
    // The start cursor: before the first event, HISTORY_GONE once any was trimmed.
    const fromStart = after === START_EVENT_ID;
    if (fromStart) after = '0-0';
    if (after !== undefined && !isStreamId(after)) {
      throw new CorbelError('INVALID_EVENT_ID', `"${short(after)}" is not an event id of channel ${channel}`);
    }
    const { maxAgeMs } = retentionOf(channel);
    let result: [RawEntry | null, string | null, string | null, RawEntry[]];
    try {
      result = (await redis.eval(
        READ_SCRIPT,
        1,
        keyOf(channel),
        after ?? '',
        String(limit),
        maxAgeMs === undefined ? '' : String(maxAgeMs),
      )) as typeof result;
    } catch (error) {
      throw toCorbelError(error, `read channel ${channel}`);
    }
    const [first, lastId, expired, page] = result;
    if (after === undefined || (fromStart && !first)) return page.map((e) => decode(channel, e));

    if (!first || !lastId) {
      throw new CorbelError(
        'HISTORY_GONE',
        `channel ${channel} has no stored history for event ${after} (Redis was emptied or the id belongs elsewhere); resync and subscribe afresh`,
      );
    }
    if (compareStreamIds(after, lastId) > 0) {
      throw new CorbelError(
        'INVALID_EVENT_ID',
        `event ${after} has not been published on channel ${channel}`,
      );
    }
    // The newest event no longer retained: trimmed (recorded by its successor) or expired.
    let trimPoint = field(first[1], 'r') ?? '0-0';
    if (expired && compareStreamIds(expired, trimPoint) > 0) trimPoint = expired;
    const vsTrim = compareStreamIds(after, trimPoint);
    const gone = () =>
      new CorbelError(
        'HISTORY_GONE',
        `events after ${after} on channel ${channel} are no longer retained (oldest kept follows ${trimPoint})`,
      );
    if (vsTrim < 0) throw gone();
    const exists = page[0]?.[0] === after;
    if (vsTrim > 0 && !exists) {
      // Between the trim point and the oldest kept event nothing was ever
      // published here: the id comes from a history this Redis no longer has.
      if (compareStreamIds(after, first[0]) < 0) {
        throw new CorbelError(
          'HISTORY_GONE',
          `event ${after} belongs to a history this Redis no longer has (channel ${channel}); resync and subscribe afresh`,
        );
      }
      throw new CorbelError('INVALID_EVENT_ID', `event ${after} was never published on channel ${channel}`);
    }
    const rest = exists ? page.slice(1) : page;
    return rest.slice(0, limit).map((e) => decode(channel, e));
  };

  const startTail = (): StreamTail => {
    if (tail) return tail;
    reader = redis.duplicate({
      commandTimeout: undefined,
      connectionName: 'corbel-live-feed',
      lazyConnect: false,
    });
    reader.on('error', () => {});
    tail = new StreamTail({ commands: redis, reader, keyOf, decode, blockMs, count: 1000 });
    return tail;
  };

  return {
    kind: 'redis',
    redis,
    keyPrefix,
    async append(channel, payload) {
      assertOpen();
      const { maxCount, maxAgeMs } = retentionOf(channel);
      let id: string;
      try {
        id = (await redis.eval(
          APPEND_SCRIPT,
          1,
          keyOf(channel),
          superjson.stringify(payload),
          maxCount === undefined ? '' : String(Math.max(1, Math.floor(maxCount))),
          maxAgeMs === undefined ? '' : String(maxAgeMs),
        )) as string;
      } catch (error) {
        throw toCorbelError(error, `publish on ${channel}`);
      }
      return { id, channel, payload, at: streamIdMs(id) };
    },
    async appendOnce(channel, payload, key, ttlMs) {
      assertOpen();
      const { maxCount, maxAgeMs } = retentionOf(channel);
      let reply: [0, string] | [1, string, string, string[] | null];
      try {
        reply = (await redis.eval(
          APPEND_ONCE_SCRIPT,
          2,
          keyOf(channel),
          `${keyPrefix}pubkey:${key}`,
          superjson.stringify(payload),
          maxCount === undefined ? '' : String(Math.max(1, Math.floor(maxCount))),
          maxAgeMs === undefined ? '' : String(maxAgeMs),
          String(Math.max(1, Math.round(ttlMs))),
          channel,
        )) as typeof reply;
      } catch (error) {
        throw toCorbelError(error, `publish on ${channel}`);
      }
      const id = reply[1];
      if (reply[0] === 0) return { event: { id, channel, payload, at: streamIdMs(id) }, duplicate: false };
      // The stored payload when still retained (a repeat's payload may differ, e.g. a fresh timestamp).
      const stored = reply[3] ? field(reply[3], 'p') : undefined;
      return {
        event: {
          id,
          channel: reply[2],
          payload: stored === undefined ? payload : superjson.parse(stored),
          at: streamIdMs(id),
        },
        duplicate: true,
      };
    },
    read(channel, { after, limit }: ReadOptions) {
      return readAfter(channel, after, Math.max(0, Math.floor(limit)));
    },
    async checkResumeId(channel, id) {
      await readAfter(channel, id, 0);
    },
    compareIds: compareStreamIds,
    async latestId(channel) {
      assertOpen();
      try {
        const [last] = await redis.xrevrange(keyOf(channel), '+', '-', 'COUNT', 1);
        return last?.[0] ?? null;
      } catch (error) {
        throw toCorbelError(error, `read the latest id of ${channel}`);
      }
    },
    tail(channel, onEvent, onError) {
      if (closed) {
        queueMicrotask(() => onError(new CorbelError('CLOSED', 'the Redis log is closed')));
        return () => {};
      }
      return startTail().add(channel, onEvent, onError);
    },
    tailedChannels() {
      return tail?.channels() ?? [];
    },
    streamKey: keyOf,
    async ping() {
      assertOpen();
      try {
        await redis.ping();
      } catch (error) {
        throw toCorbelError(error, 'ping');
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      tail?.close();
      reader?.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The value of `name` in a flat [field, value, …] list. */
function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function describeTarget(url: string | undefined): string {
  if (!url) return 'Redis';
  // Never put a password into an error message.
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Connection timed out after ${ms} ms (ETIMEDOUT)`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
