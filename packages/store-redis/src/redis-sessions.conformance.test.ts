import { randomBytes } from 'node:crypto';
import {
  type RedisServer,
  requireRedisServer,
  runSessionConformance,
  startRedisServer,
} from '@corbel/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { openRedisLog, type RedisLog } from './redis-log.js';
import { createRedisSessions } from './redis-sessions.js';

const redisAvailable = requireRedisServer('session conformance: redis');

describe.skipIf(!redisAvailable)('redis sessions', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runSessionConformance('redis', {
    durable: true,
    create: async ({ ttlMs }) => {
      const keyPrefix = `sessions-conformance:${randomBytes(6).toString('hex')}:`;
      const logs: RedisLog[] = [];
      const open = async () => {
        const log = await openRedisLog({ url: server.url, keyPrefix });
        logs.push(log);
        return createRedisSessions(log, { ttlMs });
      };
      return {
        sessions: await open(),
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
