import { randomBytes } from 'node:crypto';
import { type RedisServer, requireRedisServer, runStoreConformance, startRedisServer } from '@corbel/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { openRedisLog, type RedisLog } from './redis-log.js';

const redisAvailable = requireRedisServer('store conformance: redis');

describe.skipIf(!redisAvailable)('redis log', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runStoreConformance('redis', {
    durable: true,
    // `MAXLEN ~` trims whole radix-tree nodes (stream-node-max-entries, 100 by default).
    countRetentionSlack: 100,
    // Stream ids are timestamps: an id minted by another Redis in the same
    // millisecond is indistinguishable from one of ours (see README).
    detectsForeignHistory: false,
    create: async ({ retention }) => {
      // One key prefix per fixture: a separate history on the same server.
      const keyPrefix = `conformance:${randomBytes(6).toString('hex')}:`;
      const open = () => openRedisLog({ url: server.url, keyPrefix, retention });
      const opened: RedisLog[] = [await open()];
      return {
        log: opened[0]!,
        async reopen() {
          await opened.at(-1)!.close();
          const log = await open();
          opened.push(log);
          return log;
        },
        async cleanup() {
          const last = opened.at(-1)!;
          if (
            !(await last.ping().then(
              () => true,
              () => false,
            ))
          )
            opened.push(await open());
          const keys = await opened.at(-1)!.redis.keys(`${keyPrefix}*`);
          if (keys.length > 0) await opened.at(-1)!.redis.del(...keys);
          for (const log of opened) await log.close();
        },
      };
    },
  });
});
