import { request } from 'node:http';
import { queryInput } from '@corbel/testing';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { startTestService, ticks, until } from '../foundation/fixture.js';

interface Poll {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

/** One long poll of test.ticks over plain fetch, as protocol.md section 4.4 describes it. */
async function poll(
  url: string,
  params: { lastEventId?: string; wait?: string | number; input?: unknown } = {},
): Promise<Poll> {
  const q = new URLSearchParams({ longPoll: '1' });
  if (params.wait !== undefined) q.set('wait', String(params.wait));
  if (params.lastEventId !== undefined) q.set('lastEventId', params.lastEventId);
  const started = Date.now();
  const res = await fetch(`${url}/rpc/ticks?${queryInput(params.input ?? {})}&${q}`, {
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, headers: res.headers, body: await res.json(), ms: Date.now() - started };
}

const ns = (p: Poll) =>
  (p.body.result.data.events as { data: unknown }[]).map(
    (e) => (superjson.deserialize(e.data as any) as any).n,
  );

describe('long poll on a subscription procedure', () => {
  it('answers at once with the stored events after the id, bounded, with the id to resume from', async () => {
    await using svc = await startTestService();
    const ids: string[] = [];
    for (let n = 0; n < 300; n++) ids.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);

    const first = await poll(svc.url, { lastEventId: ids[0]!, wait: 5000 });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(Number(first.headers.get('content-length'))).toBeGreaterThan(0);
    expect(first.ms).toBeLessThan(2000);
    const data = first.body.result.data;
    expect(data.more).toBe(true);
    expect(data.done).toBe(false);
    expect(ns(first)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
    expect(data.events.map((e: any) => e.id)).toEqual(ids.slice(1, 257));
    expect(data.lastEventId).toBe(ids[256]);
    // Dates survive: the event data is a superjson envelope like an SSE frame's.
    expect((superjson.deserialize(data.events[0].data) as any).at).toBeInstanceOf(Date);

    const second = await poll(svc.url, { lastEventId: data.lastEventId, wait: 5000 });
    expect(ns(second)).toEqual(Array.from({ length: 43 }, (_, i) => i + 257));
    expect(second.body.result.data).toMatchObject({ lastEventId: ids[299], more: false });
  });

  it('waits for the first event, then answers; after the wait it answers empty with the same id', async () => {
    await using svc = await startTestService();
    const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const waiting = poll(svc.url, { lastEventId: id, wait: 10_000 });
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the poll to subscribe', timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    const next = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    const answered = await waiting;
    expect(ns(answered)).toEqual([1]);
    expect(answered.body.result.data.lastEventId).toBe(next.id);
    expect(answered.ms).toBeGreaterThanOrEqual(200);
    expect(answered.ms).toBeLessThan(5000);
    // The answer closed the subscription: a client between polls holds nothing.
    await until(() => svc.hub.stats().subscribers === 0, {
      what: 'the subscription to close',
      timeoutMs: 5000,
    });

    const empty = await poll(svc.url, { lastEventId: next.id, wait: 300 });
    expect(empty.status).toBe(200);
    expect(empty.ms).toBeGreaterThanOrEqual(280);
    expect(empty.body.result.data).toEqual({ events: [], lastEventId: next.id, more: false, done: false });
  });

  it('without an id, answers the channel head as the id to resume from (nothing is lost between polls)', async () => {
    await using svc = await startTestService();
    // A channel with no events yet: the start cursor "0", from which the first events come.
    const empty = await poll(svc.url, { wait: 0 });
    expect(empty.body.result.data.lastEventId).toBe('0');
    const a = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    const fromStart = await poll(svc.url, { lastEventId: '0', wait: 0 });
    expect(ns(fromStart)).toEqual([1]);
    expect(fromStart.body.result.data.lastEventId).toBe(a.id);
    const head = await poll(svc.url, { wait: 0 });
    expect(head.body.result.data).toEqual({ events: [], lastEventId: a.id, more: false, done: false });
    // Published between two polls: the next poll, from the head, gets it.
    await svc.hub.publish(ticks, { n: 2, at: new Date() });
    expect(ns(await poll(svc.url, { lastEventId: a.id, wait: 0 }))).toEqual([2]);
  });

  it('applies the input filter and advances past filtered events', async () => {
    await using svc = await startTestService();
    const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    let last = '';
    for (let n = 1; n <= 5; n++) last = (await svc.hub.publish(ticks, { n, at: new Date() })).id;
    const even = await poll(svc.url, { lastEventId: id, wait: 0, input: { even: true } });
    expect(ns(even)).toEqual([2, 4]);
    expect(even.body.result.data.lastEventId).toBe(last);
  });

  it('refuses bad ids, oversized and malformed waits with a 4xx and a Corbel code, and stays healthy', async () => {
    await using svc = await startTestService({ retention: 5 });
    const bad = await poll(svc.url, { lastEventId: 'not-an-id', wait: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.json.data.corbelCode).toBe('INVALID_EVENT_ID');

    const ids: string[] = [];
    for (let n = 0; n < 10; n++) ids.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    const gone = await poll(svc.url, { lastEventId: ids[0]!, wait: 0 });
    expect(gone.status).toBe(412);
    expect(gone.body.error.json.data.corbelCode).toBe('HISTORY_GONE');

    for (const wait of ['30001', '999999999999', '-1', 'soon', '1e3']) {
      const res = await poll(svc.url, { wait });
      expect(res.status, `wait=${wait}`).toBe(400);
      expect(res.body.error.json.message).toMatch(/wait must be a whole number/);
    }
    const flag = await fetch(`${svc.url}/rpc/ticks?longPoll=yes`);
    expect(flag.status).toBe(400);
    // Mutations and queries ignore nothing: a long poll is a GET on a subscription only.
    const health = await fetch(`${svc.url}/healthz`);
    expect(health.status).toBe(200);
    expect(svc.hub.stats().subscribers).toBe(0);
  });

  it('releases the subscription of a client that never comes back', async () => {
    await using svc = await startTestService();
    const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const port = Number(new URL(svc.url).port);
    const req = request({
      host: '127.0.0.1',
      port,
      path: `/rpc/ticks?${queryInput({})}&longPoll=1&wait=30000&lastEventId=${id}`,
    });
    req.on('error', () => {});
    req.end();
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the poll to subscribe', timeoutMs: 5000 });
    req.destroy();
    await until(() => svc.hub.stats().subscribers === 0, {
      what: 'the abandoned poll to be released',
      timeoutMs: 5000,
    });
    // An event published now reaches the next poll, from the log.
    await svc.hub.publish(ticks, { n: 1, at: new Date() });
    expect(ns(await poll(svc.url, { lastEventId: id, wait: 0 }))).toEqual([1]);
  });

  it('answers a waiting poll with DRAINING when the server shuts down', async () => {
    const svc = await startTestService();
    try {
      const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
      const waiting = poll(svc.url, { lastEventId: id, wait: 20_000 });
      await until(() => svc.hub.stats().subscribers === 1, {
        what: 'the poll to subscribe',
        timeoutMs: 5000,
      });
      svc.hub.drain();
      const answered = await waiting;
      expect(answered.status).toBe(503);
      expect(answered.body.error.json.data.corbelCode).toBe('DRAINING');
    } finally {
      await svc.close();
    }
  });
});
