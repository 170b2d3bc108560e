import { CorbelError } from '@corbel/core';
import { requireRedisServer, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { openRedisLog } from './redis-log.js';

const redisAvailable = requireRedisServer('redis cluster check');

describe.skipIf(!redisAvailable)('a Redis Cluster node is refused at open', () => {
  it('openRedisLog fails with STORE_UNSUPPORTED naming the limitation', async () => {
    await using node = await startRedisServer({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    });
    const error = await openRedisLog({ url: node.url }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(CorbelError.find(error)?.corbelCode).toBe('STORE_UNSUPPORTED');
    expect((error as Error).message).toMatch(/Redis Cluster.*standalone Redis/);
  });

  it('a standalone Redis opens', async () => {
    await using node = await startRedisServer();
    const log = await openRedisLog({ url: node.url });
    await log.close();
  });
});
