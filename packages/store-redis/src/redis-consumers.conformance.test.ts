import { randomBytes } from 'node:crypto';
import {
  type RedisServer,
  requireRedisServer,
  runConsumerConformance,
  startRedisServer,
} from '@corbel/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { createRedisConsumers } from './redis-consumers.js';
import { openRedisLog, type RedisLog } from './redis-log.js';

const redisAvailable = requireRedisServer('consumer conformance: redis');

describe.skipIf(!redisAvailable)('redis consumers', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runConsumerConformance('redis', {
    durable: true,
    create: async ({ ttlMs }) => {
      const keyPrefix = `consumers-conformance:${randomBytes(6).toString('hex')}:`;
      const logs: RedisLog[] = [];
      const open = async () => {
        const log = await openRedisLog({ url: server.url, keyPrefix });
        logs.push(log);
        return createRedisConsumers(log, { ttlMs });
      };
      return {
        positions: await open(),
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
