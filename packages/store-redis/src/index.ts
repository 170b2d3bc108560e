/**
 * `@corbel/store-redis`: the Redis Streams event log, sessions and
 * idempotency records and per-identity limits shared by many server instances.
 */
export { createRedisConsumers, type RedisConsumersOptions } from './redis-consumers.js';
export { createRedisIdempotency, type RedisIdempotencyOptions } from './redis-idempotency.js';
export { createRedisLimits, type RedisLimitsOptions } from './redis-limits.js';
export { openRedisLog, type RedisLog, type RedisLogOptions } from './redis-log.js';
export { createRedisSessions, type RedisSessionsOptions } from './redis-sessions.js';
export { openRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';
