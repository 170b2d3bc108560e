import type { ConsumerPositions, IdempotencyStore, SessionRegistry } from '@corbel/core';
import { createRedisConsumers } from './redis-consumers.js';
import { createRedisIdempotency } from './redis-idempotency.js';
import { openRedisLog, type RedisLog, type RedisLogOptions } from './redis-log.js';
import { createRedisSessions } from './redis-sessions.js';

export interface RedisStoreOptions extends RedisLogOptions {
  /** Idle time after which a session expires (default 30 minutes). */
  sessionTtlMs?: number | undefined;
  /** How long idempotency records are kept (default 24 h). */
  idempotencyTtlMs?: number | undefined;
  /** Idle time after which a durable consumer expires (default 24 hours). */
  consumerTtlMs?: number | undefined;
}

/** The Redis store: the same three parts as `openSqliteStore`, shared by every instance. */
export interface RedisStore {
  /** The event log; closing it closes the connections (and so the rest). */
  readonly log: RedisLog;
  readonly sessions: SessionRegistry;
  /** Idempotency records (the server's `idempotency` option). */
  readonly idempotency: IdempotencyStore;
  /** Durable consumers' positions. */
  readonly consumers: ConsumerPositions;
}

/**
 * Opens the Redis store: the event log, sessions and idempotency records on
 * one connection, the counterpart of `openSqliteStore`. Resolves once Redis
 * answers; a Redis Cluster node is refused (STORE_UNSUPPORTED).
 *
 * @example
 * const store = await openRedisStore({ url: 'redis://127.0.0.1:6379' });
 * const server = createCorbelServer({ router, store: store.log, idempotency: store.idempotency });
 */
export async function openRedisStore(opts: RedisStoreOptions = {}): Promise<RedisStore> {
  const log = await openRedisLog(opts);
  return {
    log,
    sessions: createRedisSessions(log, { ttlMs: opts.sessionTtlMs }),
    idempotency: createRedisIdempotency(log, { ttlMs: opts.idempotencyTtlMs }),
    consumers: createRedisConsumers(log, { ttlMs: opts.consumerTtlMs }),
  };
}
