import { requireRedisServer, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { openRedisStore } from './redis-store.js';

const redisAvailable = requireRedisServer('redis store');

describe.skipIf(!redisAvailable)('openRedisStore', () => {
  it('opens the log, sessions and idempotency records on one Redis, like openSqliteStore', async () => {
    await using redis = await startRedisServer();
    const store = await openRedisStore({ url: redis.url, keyPrefix: 'store-test:', idempotencyTtlMs: 5000 });
    try {
      expect([store.log.kind, store.sessions.kind, store.idempotency.kind]).toEqual([
        'redis',
        'redis',
        'redis',
      ]);
      expect(store.idempotency.ttlMs).toBe(5000);
      const s = await store.sessions.open('alice');
      expect(await store.sessions.get(s.id)).not.toBeNull();
      expect((await store.idempotency.claim('scope', 'f', 1000)).state).toBe('claimed');
      expect((await store.log.append('c', { n: 1 })).channel).toBe('c');
    } finally {
      await store.log.close();
    }
  });
});
