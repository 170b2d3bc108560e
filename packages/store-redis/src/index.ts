export { fromRedisError, isRedisUnavailable } from './redis-errors.js';
export { createRedisIdempotency, type RedisIdempotencyOptions } from './redis-idempotency.js';
export { compareStreamIds, isStreamId } from './redis-ids.js';
export { openRedisLog, type RedisLog, type RedisLogOptions } from './redis-log.js';
export { createRedisSessions, type RedisSessionsOptions } from './redis-sessions.js';
export { openRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';
