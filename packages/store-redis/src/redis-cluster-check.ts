import { CorbelError } from '@corbel/core';
import type { Redis } from 'ioredis';

/**
 * Refuses a Redis Cluster node at start-up. The live feed reads every
 * followed channel with one multi-key `XREAD`, and a cluster refuses
 * multi-key commands across hash slots (CROSSSLOT) or redirects them (MOVED):
 * instead of failing on the first subscriber, the log says so when it opens.
 * Use a standalone Redis (with replicas and Sentinel for failover).
 *
 * @example
 * await assertNotCluster(redis, 'redis://10.0.0.5:6379');
 */
export async function assertNotCluster(redis: Redis, target: string): Promise<void> {
  let info: string;
  try {
    info = await redis.info('cluster');
  } catch {
    // A server that hides INFO (a managed Redis with renamed commands) is not refused here.
    return;
  }
  if (/^cluster_enabled:1\b/m.test(info)) {
    throw new CorbelError(
      'STORE_UNSUPPORTED',
      `${target} is a Redis Cluster node; Corbel's Redis store needs a standalone Redis (one process follows many channels with one multi-key XREAD, which a cluster refuses across hash slots). ` +
        'Point --redis at a standalone Redis (use replicas and Sentinel for failover).',
    );
  }
}
