import { randomBytes } from 'node:crypto';
import {
  type RedisServer,
  requireRedisServer,
  runIdempotencyConformance,
  startRedisServer,
} from '@corbel/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { createRedisIdempotency } from './redis-idempotency.js';
import { openRedisLog, type RedisLog } from './redis-log.js';

const redisAvailable = requireRedisServer('idempotency conformance: redis');

describe.skipIf(!redisAvailable)('redis idempotency', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runIdempotencyConformance('redis', {
    durable: true,
    create: async ({ ttlMs }) => {
      // One key prefix per fixture: separate records on the same server.
      const keyPrefix = `idem-conformance:${randomBytes(6).toString('hex')}:`;
      const logs: RedisLog[] = [];
      const open = async () => {
        const log = await openRedisLog({ url: server.url, keyPrefix });
        logs.push(log);
        return createRedisIdempotency(log, { ttlMs });
      };
      return {
        store: await open(),
        openAnother: open,
        reopen: async () => {
          await logs.at(-1)!.close();
          return open();
        },
        cleanup: async () => {
          const last = logs.at(-1)!;
          const keys = await last.redis.keys(`${keyPrefix}*`);
          if (keys.length > 0) await last.redis.del(...keys);
          for (const log of logs) await log.close().catch(() => {});
        },
      };
    },
  });
});
