import { randomBytes } from 'node:crypto';
import { CorbelError, sessionChannelName } from '@corbel/core';
import { type RedisServer, requireRedisServer, startRedisServer } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisLog, type RedisLog } from './redis-log.js';
import { createRedisSessions } from './redis-sessions.js';

const redisAvailable = requireRedisServer('redis sessions');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!redisAvailable)('redis sessions: one registry for every instance', () => {
  let server: RedisServer;
  const logs: RedisLog[] = [];
  /** Two "instances": two logs (two connections) on one Redis and prefix. */
  const twoInstances = async (ttlMs?: number) => {
    const keyPrefix = `s:${randomBytes(4).toString('hex')}:`;
    const a = await openRedisLog({ url: server.url, keyPrefix });
    const b = await openRedisLog({ url: server.url, keyPrefix });
    logs.push(a, b);
    return { a: createRedisSessions(a, { ttlMs }), b: createRedisSessions(b, { ttlMs }), logA: a, logB: b };
  };
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const log of logs) await log.close();
    await server?.stop();
  });

  it('a session opened on one instance is known, touched and listed on the others', async () => {
    const { a, b } = await twoInstances();
    const opened = await a.open('alice', { board: 'north' });
    expect(opened.id).toMatch(/^[0-9a-f]{32}$/);
    const seen = await b.get(opened.id);
    expect(seen).toMatchObject({ id: opened.id, owner: 'alice', data: { board: 'north' } });
    await sleep(5);
    const touched = await b.touch(opened.id, { cursor: '17-0', nested: { ok: true, list: [] } });
    expect(touched!.lastSeenAt).toBeGreaterThan(opened.lastSeenAt);
    expect(await a.get(opened.id)).toMatchObject({
      data: { board: 'north', cursor: '17-0', nested: { ok: true, list: [] } },
    });
    const other = await b.open('bob');
    expect((await a.list()).map((s) => s.owner)).toEqual(['alice', 'bob']);
    await a.end(other.id);
    expect(await b.get(other.id)).toBeNull();
    expect((await b.list()).map((s) => s.id)).toEqual([opened.id]);
    expect(await a.get('not-a-session')).toBeNull();
    expect(await a.touch('f'.repeat(32))).toBeNull();
  });

  it('expires idle sessions by TTL; one sweep (of many racing) reports each, and its private stream goes too', async () => {
    const { a, b, logA } = await twoInstances(300);
    const idle = await a.open('carol');
    const busy = await a.open('dave');
    await logA.append(sessionChannelName(idle.id), { text: 'private' });
    for (let i = 0; i < 4; i++) {
      await sleep(100);
      expect(await b.touch(busy.id)).not.toBeNull();
    }
    expect(await a.get(idle.id)).toBeNull();
    expect((await b.list()).map((s) => s.owner)).toEqual(['dave']);
    const [sa, sb] = await Promise.all([a.sweep(), b.sweep()]);
    expect([...sa, ...sb]).toEqual([idle.id]);
    expect(await logA.redis.exists(logA.streamKey(sessionChannelName(idle.id)))).toBe(0);
    expect(await a.get(busy.id)).not.toBeNull();
  });

  it('answers STORE_UNAVAILABLE while Redis is down and works again when it is back', async () => {
    const own = await startRedisServer();
    try {
      const log = await openRedisLog({ url: own.url });
      logs.push(log);
      const sessions = createRedisSessions(log);
      const s = await sessions.open('erin');
      await own.kill('SIGKILL');
      const error = await sessions.get(s.id).then(
        () => null,
        (e) => CorbelError.find(e),
      );
      expect(error?.corbelCode).toBe('STORE_UNAVAILABLE');
      await own.start();
      for (let i = 0; i < 100; i++) {
        if (
          await log.ping().then(
            () => true,
            () => false,
          )
        )
          break;
        await sleep(50);
      }
      // Persistence is off in this fixture: the restarted Redis is empty, and says so.
      expect(await sessions.get(s.id)).toBeNull();
      expect((await sessions.open('erin')).owner).toBe('erin');
    } finally {
      await own.stop();
    }
  });
});
