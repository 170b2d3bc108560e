/**
 * Issue 18: a long poll with `wait=0` from the channel's newest id, and so
 * every piggybacked command of a client that is up to date, answered after
 * 10 s instead of at once. The hub subscription reads its (empty) backlog
 * page first; the poll waited for that page, as it should, but when the page
 * brought nothing it went on waiting for a live event up to the backlog bound
 * (10 s) instead of answering empty. The client's first poll (which does not
 * wait, so the app hears "live" at once) was held the same way.
 */
import { queryInput } from '@corbel/testing';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { startTestService, ticks } from '../foundation/fixture.js';

async function timed(url: string, init: RequestInit = {}) {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  await res.arrayBuffer();
  return { res, ms: performance.now() - started };
}

describe('a zero-wait read from the newest id', () => {
  it('answers a long poll at once, empty, with the same id', async () => {
    await using svc = await startTestService();
    const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const res = await fetch(`${svc.url}/rpc/ticks?${queryInput({})}&longPoll=1&wait=0&lastEventId=${id}`, {
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as any;
      expect(performance.now() - started).toBeLessThan(2000);
      expect(body.result.data).toEqual({ events: [], lastEventId: id, more: false, done: false });
    }
    expect(svc.hub.stats().subscribers).toBe(0);
  });

  it('answers a piggybacked command at once', async () => {
    await using svc = await startTestService();
    const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const { res, ms } = await timed(
      `${svc.url}/rpc/echo?input=${encodeURIComponent(JSON.stringify(superjson.serialize(1)))}`,
      {
        headers: { 'corbel-piggyback': 'ticks', 'corbel-piggyback-last-event-id': id },
      },
    );
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(2000);
    const carried = JSON.parse(Buffer.from(res.headers.get('corbel-events')!, 'base64url').toString('utf8'));
    expect(carried).toEqual({ events: [], lastEventId: id, more: false, done: false });
  });
});
