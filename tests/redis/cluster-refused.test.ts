import { requireRedisServer, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { startRedisStation } from './fixture.js';

const redisAvailable = requireRedisServer('tests/redis/cluster-refused');

describe.skipIf(!redisAvailable)('a station pointed at a Redis Cluster node', () => {
  it('refuses to start, naming the limitation and what to use instead', async () => {
    await using node = await startRedisServer({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    });
    const error = await startRedisStation(node.url).then(
      async (station) => {
        await station.stop('SIGKILL');
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/exited \(1\)/);
    expect(error?.message).toMatch(/station: .*is a Redis Cluster node.*standalone Redis/);
  });
});
