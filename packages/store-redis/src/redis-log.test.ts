import { randomBytes } from 'node:crypto';
import { CorbelError, createHub, defineChannel, type StoredEvent } from '@corbel/core';
import { type RedisServer, requireRedisServer, startRedisServer, until } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openRedisLog, type RedisLog } from './redis-log.js';

const redisAvailable = requireRedisServer('redis log: live feed and failures');
const ticks = defineChannel('test.ticks', z.object({ n: z.number().int() }));

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return CorbelError.find(error)?.corbelCode ?? String(error);
  }
}

/** Collects `count` events from a hub subscription. */
async function collect(iter: AsyncIterable<any>, count: number) {
  const out: { id: string; n: number }[] = [];
  for await (const env of iter) {
    const [id, data] = Array.isArray(env) ? env : [env.id, env.data];
    out.push({ id, n: data.n });
    if (out.length === count) break;
  }
  return out;
}

describe.skipIf(!redisAvailable)('redis log: live feed and failures', () => {
  let server: RedisServer;
  const logs: RedisLog[] = [];
  const open = async (opts: Parameters<typeof openRedisLog>[0] = {}) => {
    const log = await openRedisLog({ url: server.url, ...opts });
    logs.push(log);
    return log;
  };
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const log of logs) await log.close();
    await server?.stop();
  });

  it('two instances share one ordered history; subscribers on either get every event once, in order', async () => {
    const keyPrefix = `t1:${randomBytes(4).toString('hex')}:`;
    const a = createHub({ log: await open({ keyPrefix }) });
    const b = createHub({ log: await open({ keyPrefix }) });
    const onA = await a.subscribe(ticks);
    const onB = await b.subscribe(ticks);
    const gotA = collect(onA, 40);
    const gotB = collect(onB, 40);
    const published: string[] = [];
    for (let n = 0; n < 40; n++) published.push((await (n % 2 ? a : b).publish(ticks, { n })).id);
    const [ra, rb] = await Promise.all([gotA, gotB]);
    expect(ra.map((e) => e.id)).toEqual(published);
    expect(rb.map((e) => e.id)).toEqual(published);
    expect(ra.map((e) => e.n)).toEqual([...Array(40).keys()]);

    // Resume on the other instance from an id minted by the first: no gap, no duplicate.
    const resumed = await b.subscribe(ticks, { after: published[24] });
    const rest = collect(resumed, 20);
    for (let n = 40; n < 45; n++) published.push((await a.publish(ticks, { n })).id);
    expect((await rest).map((e) => e.id)).toEqual(published.slice(25));
  });

  it('reads every active channel with one blocking XREAD per process, never one per subscriber', async () => {
    const keyPrefix = `t2:${randomBytes(4).toString('hex')}:`;
    const log = await open({ keyPrefix });
    const feedsBefore = await liveFeeds(log);
    const hub = createHub({ log });
    const channels = [0, 1, 2, 3].map((i) => defineChannel(`fan.${i}`, z.object({ n: z.number() })));
    const subs = [];
    for (const ch of channels) for (let s = 0; s < 25; s++) subs.push(collect(await hub.subscribe(ch), 10));
    expect(log.tailedChannels().sort()).toEqual(channels.map((c) => c.name).sort());
    const xreadsBefore = await xreadCalls(log);
    for (let n = 0; n < 10; n++) for (const ch of channels) await hub.publish(ch, { n });
    const results = await Promise.all(subs);
    for (const r of results) expect(r.map((e) => e.n)).toEqual([...Array(10).keys()]);
    // 100 subscribers × 40 events were served by at most one XREAD per published event.
    expect((await xreadCalls(log)) - xreadsBefore).toBeLessThanOrEqual(41);
    // This process added exactly one reading connection for its 100 subscribers.
    expect((await liveFeeds(log)) - feedsBefore).toBe(1);
  });

  it('a channel that becomes active while XREAD blocks is read at once (CLIENT UNBLOCK), not after the block', async () => {
    const keyPrefix = `t3:${randomBytes(4).toString('hex')}:`;
    const log = await open({ keyPrefix, blockMs: 60_000 });
    const first: StoredEvent[] = [];
    log.tail(
      'one',
      (e) => first.push(e),
      () => {},
    );
    await until(() => log.tailedChannels().length === 1, { what: 'first channel' });
    await new Promise((r) => setTimeout(r, 100)); // let XREAD block on "one"
    const second: StoredEvent[] = [];
    log.tail(
      'two',
      (e) => second.push(e),
      () => {},
    );
    await new Promise((r) => setTimeout(r, 50));
    const appended = await log.append('two', { hello: 'world' });
    // XREAD blocks for 60 s on "one": only CLIENT UNBLOCK can bring "two" in within the wait.
    await until(() => second.length === 1, { what: 'event on the second channel' });
    expect(second[0]!.id).toBe(appended.id);
    expect(second[0]!.payload).toEqual({ hello: 'world' });
  });

  it('refuses an id from before a wipe with HISTORY_GONE', async () => {
    const keyPrefix = `t4:${randomBytes(4).toString('hex')}:`;
    const log = await open({ keyPrefix });
    const old = await log.append('c', 1);
    await log.redis.del(`${keyPrefix}stream:c`);
    expect(await codeOf(log.checkResumeId('c', old.id))).toBe('HISTORY_GONE');
    await new Promise((r) => setTimeout(r, 5));
    await log.append('c', 2);
    expect(await codeOf(log.checkResumeId('c', old.id))).toBe('HISTORY_GONE');
    expect(await codeOf(log.checkResumeId('c', '99999999999999-0'))).toBe('INVALID_EVENT_ID');
  });

  it('fails fast with STORE_UNAVAILABLE while Redis is down, ends live feeds retryably, recovers by itself', async () => {
    const own = await startRedisServer();
    try {
      // A command timeout far beyond the test's: a queued publish would time the test out.
      const log = await openRedisLog({ url: own.url, keyPrefix: 'down:', commandTimeoutMs: 120_000 });
      logs.push(log);
      const hub = createHub({ log });
      const sub = await hub.subscribe(ticks);
      await hub.publish(ticks, { n: 1 });
      const iter = sub[Symbol.asyncIterator]();
      expect((await iter.next()).value[1]).toEqual({ n: 1 });

      await own.kill('SIGKILL');
      const failure = await iter.next().then(
        () => null,
        (e) => e as CorbelError,
      );
      expect(failure?.corbelCode).toBe('STORE_UNAVAILABLE');
      expect(failure?.retryable).toBe(true);

      const refused = await hub.publish(ticks, { n: 2 }).then(
        () => null,
        (e) => e as CorbelError,
      );
      expect(refused?.corbelCode).toBe('STORE_UNAVAILABLE');
      expect(refused?.code).toBe('SERVICE_UNAVAILABLE');
      expect(await codeOf(hub.subscribe(ticks, { after: '1-0' }))).toBe('STORE_UNAVAILABLE');

      await own.start();
      await until(async () => (await codeOf(log.ping())) === undefined, { what: 'reconnect' });
      const again = await hub.subscribe(ticks);
      const next = collect(again, 1);
      const { id } = await hub.publish(ticks, { n: 3 });
      expect((await next)[0]).toEqual({ id, n: 3 });
    } finally {
      await own.stop();
    }
  });
});

async function xreadCalls(log: RedisLog): Promise<number> {
  const info = (await log.redis.info('commandstats')) as string;
  const m = /cmdstat_xread:calls=(\d+)/.exec(info);
  return m ? Number(m[1]) : 0;
}

async function liveFeeds(log: RedisLog): Promise<number> {
  const clients = (await log.redis.client('LIST')) as string;
  return clients.split('\n').filter((l) => l.includes('name=corbel-live-feed')).length;
}
