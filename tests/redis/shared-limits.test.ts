import {
  openSse,
  queryInput,
  rawRequest,
  requireRedisServer,
  type SseConnection,
  type StartedProcess,
  startProcess,
  startRedisServer,
} from '@corbel/testing';
import { describe, expect, it } from 'vitest';

/**
 * Per-identity limits shared by two real instances on one real
 * redis-server: 3 streams and a command per 5 s (burst 4) for the whole cluster;
 * a killed instance's streams stop counting once its lease lapses; with
 * Redis down each instance enforces its own limits, and says so in its log
 * and metrics, until Redis is back.
 */
const entry = new URL('./limits-server.ts', import.meta.url).pathname;
const startInstance = (redisUrl: string): Promise<StartedProcess> =>
  startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', entry, '--redis', redisUrl],
    {
      ready: /listening on (\S+)/,
      timeoutMs: 60_000,
    },
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ping = async (url: string) => (await rawRequest(`${url}/rpc/ping`)).status;
const metric = async (url: string, name: string) => {
  const text = (await rawRequest(`${url}/metrics`)).text;
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1],
  );
};

const redisAvailable = requireRedisServer('tests/redis/shared-limits');

describe.skipIf(!redisAvailable)('cluster-wide limits on Redis', () => {
  it('two instances share streams and command rate per identity; a dead instance frees its streams; a Redis outage degrades to per-instance limits', {
    timeout: 120_000,
  }, async () => {
    await using redis = await startRedisServer();
    await using a = await startInstance(redis.url);
    await using b = await startInstance(redis.url);
    const streams: SseConnection[] = [];
    const open = async (url: string) => {
      const sse = await openSse(`${url}/rpc/ticks?${queryInput(undefined)}`);
      if (sse.status === 200) streams.push(sse);
      return sse;
    };
    try {
      // Streams: 3 for the identity, wherever they are opened.
      expect((await open(a.ready)).status).toBe(200);
      expect((await open(a.ready)).status).toBe(200);
      expect((await open(b.ready)).status).toBe(200);
      expect((await open(a.ready)).status).toBe(429);
      expect((await open(b.ready)).status).toBe(429);
      // One closed on A makes room on B.
      await streams.shift()![Symbol.asyncDispose]();
      await sleep(200);
      expect((await open(b.ready)).status).toBe(200);

      // Commands: a burst of 4 for the identity across both instances.
      const statuses = [await ping(a.ready), await ping(b.ready), await ping(a.ready), await ping(b.ready)];
      expect(statuses).toEqual([200, 200, 200, 200]);
      expect(await ping(a.ready)).toBe(429);
      expect(await ping(b.ready)).toBe(429);

      // A dies holding one stream: it counts until its lease (3 s) lapses, then not.
      a.child.kill('SIGKILL');
      await a.exited;
      expect((await open(b.ready)).status).toBe(429);
      await sleep(3500);
      expect((await open(b.ready)).status).toBe(200);
      expect((await open(b.ready)).status).toBe(429);
      expect(await metric(b.ready, 'corbel_limits_shared')).toBe(1);

      // Redis down: B enforces its own limits (a fresh burst of 4, then 429) and says so.
      for (const s of streams.splice(0)) await s[Symbol.asyncDispose]();
      await redis.kill('SIGKILL');
      const degraded = [];
      for (let i = 0; i < 5; i++) degraded.push(await ping(b.ready));
      expect(degraded).toEqual([200, 200, 200, 200, 429]);
      await b.waitForLine(/cluster-wide limits unavailable/, 5000);
      expect(await metric(b.ready, 'corbel_limits_shared')).toBe(0);
      expect(await metric(b.ready, 'corbel_limits_degraded_total')).toBe(1);

      // Redis back: shared again.
      await redis.start();
      await sleep(2500);
      for (let i = 0; i < 20 && (await metric(b.ready, 'corbel_limits_shared')) !== 1; i++) {
        await ping(b.ready);
        await sleep(250);
      }
      await b.waitForLine(/cluster-wide limits restored/, 5000);
      expect(await metric(b.ready, 'corbel_limits_shared')).toBe(1);
    } finally {
      for (const s of streams) await Promise.resolve(s[Symbol.asyncDispose]()).catch(() => {});
    }
  });
});
