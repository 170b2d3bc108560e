/**
 * Issue 18: a long poll of a channel with no events answers the start cursor
 * "0" as the id to resume from. A client that came back with "0" after the
 * log had trimmed the channel's first events got the retained ones and no
 * error: the trimmed events were lost silently, on the event stream as on a
 * long poll, because the hub read "0" as "every retained event" without
 * asking the log whether any had gone. Now "0" is checked like any resume id
 * ("before the channel's first event"): HISTORY_GONE once any event was
 * trimmed, on both transports and on every store; an ordinary trimmed id is
 * answered the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, createMemoryLog, type EventLog } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { openRedisLog } from '@corbel/store-redis';
import { openSqliteStore } from '@corbel/store-sqlite';
import { queryInput, requireRedisServer, startRedisServer } from '@corbel/testing';
import superjson from 'superjson';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestRouter, ticks } from '../foundation/fixture.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const stores: [string, () => EventLog][] = [
  ['memory', () => createMemoryLog({ retention: { maxCount: 3 } })],
  [
    'SQLite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'corbel-start-cursor-'));
      dirs.push(dir);
      return openSqliteStore({ dataDir: dir, retention: { maxCount: 3 } }).log;
    },
  ],
];

async function startService(log: EventLog) {
  const hub = createHub({ log });
  const server = createCorbelServer({ router: createTestRouter(hub), drainTimeoutMs: 1000 });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    hub,
    [Symbol.asyncDispose]: async () => {
      await server.close();
      await hub.close();
    },
  };
}

/** A long poll (wait 0) or an event-stream request from `lastEventId`: status, Corbel code, events. */
async function ask(url: string, how: 'long-poll' | 'sse', lastEventId?: string) {
  const q = new URLSearchParams(how === 'long-poll' ? { longPoll: '1', wait: '0' } : {});
  if (lastEventId !== undefined) q.set('lastEventId', lastEventId);
  const res = await fetch(`${url}/rpc/ticks?${queryInput({})}&${q}`, {
    headers: how === 'sse' ? { accept: 'text/event-stream' } : {},
    signal: AbortSignal.timeout(10_000),
  });
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, code: undefined, ns: [] as number[], cursor: undefined };
  }
  const body = (await res.json()) as any;
  const data = body.result?.data;
  return {
    status: res.status,
    code: body.error?.json?.data?.corbelCode as string | undefined,
    ns: ((data?.events ?? []) as { data: unknown }[]).map(
      (e) => (superjson.deserialize(e.data as any) as any).n,
    ),
    cursor: data?.lastEventId as string | undefined,
  };
}

describe.each(stores)('the start cursor "0" after a trim (%s)', (_name, openLog) => {
  it('is answered HISTORY_GONE by a long poll and by the event stream, as a trimmed id is', async () => {
    await using svc = await startService(openLog());
    // A channel with no events: the poll names "0" as the id to resume from.
    const empty = await ask(svc.url, 'long-poll');
    expect(empty.cursor).toBe('0');
    // Nothing trimmed yet: "0" gives every event from the first.
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    const whole = await ask(svc.url, 'long-poll', '0');
    expect(whole).toMatchObject({ status: 200, ns: [0, 1, 2], cursor: ids[2] });

    // Past the retention of 3: the first events are gone.
    for (let n = 3; n < 10; n++) ids.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    for (const how of ['long-poll', 'sse'] as const) {
      for (const id of ['0', ids[0]!, ids[5]!]) {
        const gone = await ask(svc.url, how, id);
        expect({ how, id, status: gone.status, code: gone.code }).toEqual({
          how,
          id,
          status: 412,
          code: 'HISTORY_GONE',
        });
      }
    }
    // The retained part is still served from the id before it.
    const kept = await ask(svc.url, 'long-poll', ids[6]!);
    expect(kept).toMatchObject({ status: 200, ns: [7, 8, 9] });
    expect(svc.hub.stats().subscribers).toBe(0);
  });
});

const redisAvailable = requireRedisServer('tests/regression/start-cursor-after-trim');

describe.skipIf(!redisAvailable)('the start cursor "0" after a trim (Redis)', () => {
  it('is answered HISTORY_GONE by a long poll and by the event stream once Redis trimmed', async () => {
    await using redis = await startRedisServer();
    // Redis trims whole nodes (about 100 entries): publish well past one.
    await using svc = await startService(await openRedisLog({ url: redis.url, retention: { maxCount: 3 } }));
    expect((await ask(svc.url, 'long-poll')).cursor).toBe('0');
    await svc.hub.publish(ticks, { n: 0, at: new Date() });
    expect(await ask(svc.url, 'long-poll', '0')).toMatchObject({ status: 200, ns: [0] });
    let first = '';
    for (let n = 1; n < 400; n++) {
      const { id } = await svc.hub.publish(ticks, { n, at: new Date() });
      if (n === 1) first = id;
    }
    for (const how of ['long-poll', 'sse'] as const) {
      for (const id of ['0', first]) {
        const gone = await ask(svc.url, how, id);
        expect({ how, id, status: gone.status, code: gone.code }).toEqual({
          how,
          id,
          status: 412,
          code: 'HISTORY_GONE',
        });
      }
    }
  });
});
