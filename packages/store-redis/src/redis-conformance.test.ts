/**
 * The store conformance suites of @corbel/testing against this package, on one
 * real redis-server: the event log, sessions, idempotency records and consumer
 * positions. Each fixture gets its own key prefix, so the suites share the
 * server without sharing state, and deletes its keys when done.
 */
import { randomBytes } from 'node:crypto';
import {
  type RedisServer,
  requireRedisServer,
  runConsumerConformance,
  runIdempotencyConformance,
  runSessionConformance,
  runStoreConformance,
  startRedisServer,
} from '@corbel/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { createRedisConsumers } from './redis-consumers.js';
import { createRedisIdempotency } from './redis-idempotency.js';
import { openRedisLog, type RedisLog, type RedisLogOptions } from './redis-log.js';
import { createRedisSessions } from './redis-sessions.js';

const redisAvailable = requireRedisServer('store conformance: redis');

describe.skipIf(!redisAvailable)('redis stores', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /**
   * Opens one piece of the store (`make` over a log) under a fresh key prefix;
   * `reopen` closes the last connection and opens another, as a restart would.
   */
  async function fixture<P>(kind: string, make: (log: RedisLog) => P, opts: Partial<RedisLogOptions> = {}) {
    const keyPrefix = `${kind}-conformance:${randomBytes(6).toString('hex')}:`;
    const logs: RedisLog[] = [];
    const open = async () => {
      const log = await openRedisLog({ ...opts, url: server.url, keyPrefix });
      logs.push(log);
      return { log, piece: make(log) };
    };
    const first = await open();
    return {
      first,
      open,
      reopen: async () => {
        await logs.at(-1)!.close();
        return open();
      },
      cleanup: async () => {
        // A test may have closed or broken the last connection: delete with a fresh one.
        const last = await openRedisLog({ url: server.url, keyPrefix });
        const keys = await last.redis.keys(`${keyPrefix}*`);
        if (keys.length > 0) await last.redis.del(...keys);
        for (const log of [...logs, last]) await log.close().catch(() => {});
      },
    };
  }

  runStoreConformance('redis', {
    durable: true,
    // `MAXLEN ~` trims whole radix-tree nodes (stream-node-max-entries, 100 by default).
    countRetentionSlack: 100,
    // Stream ids are timestamps: an id minted by another Redis in the same
    // millisecond is indistinguishable from one of ours (see README).
    detectsForeignHistory: false,
    create: async ({ retention }) => {
      const f = await fixture('log', (log) => log, { retention });
      return {
        log: f.first.log,
        reopen: async () => (await f.reopen()).log,
        cleanup: f.cleanup,
      };
    },
  });

  runSessionConformance('redis', {
    durable: true,
    create: async ({ ttlMs }) => {
      const f = await fixture('sessions', (log) => createRedisSessions(log, { ttlMs }));
      return { sessions: f.first.piece, reopen: async () => (await f.reopen()).piece, cleanup: f.cleanup };
    },
  });

  runIdempotencyConformance('redis', {
    durable: true,
    create: async ({ ttlMs }) => {
      const f = await fixture('idem', (log) => createRedisIdempotency(log, { ttlMs }));
      return {
        store: f.first.piece,
        openAnother: async () => (await f.open()).piece,
        reopen: async () => (await f.reopen()).piece,
        cleanup: f.cleanup,
      };
    },
  });

  runConsumerConformance('redis', {
    shared: true,
    durable: true,
    create: async ({ ttlMs }) => {
      const f = await fixture('consumers', (log) => createRedisConsumers(log, { ttlMs }));
      return { positions: f.first.piece, reopen: async () => (await f.reopen()).piece, cleanup: f.cleanup };
    },
  });
});
