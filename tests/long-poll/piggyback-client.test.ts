/**
 * The client's opt-in piggyback (`piggyback: true`, protocol.md section 4.5)
 * against a real server: commands carry a subscription's pending events, the
 * subscription gets each event once whichever way it came first.
 */
import { type CorbelClientOptions, createCorbelClient } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { startTestService, type TestRouter, ticks, until } from '../foundation/fixture.js';
import { startHoldingProxy } from './holding-proxy.js';

/** A fetch that counts what went out and what came back about piggybacking. */
function countingFetch() {
  const seen = { asked: 0, carried: 0, commands: 0 };
  const fn: typeof fetch = async (url, init) => {
    const headers = new Headers(init?.headers);
    const isCommand = !String(url).includes('longPoll=1') && headers.get('accept') !== 'text/event-stream';
    if (isCommand) seen.commands++;
    if (headers.has('corbel-piggyback')) seen.asked++;
    const res = await fetch(url, init);
    const events = res.headers.get('corbel-events');
    if (events !== null && JSON.parse(Buffer.from(events, 'base64url').toString('utf8')).events.length > 0)
      seen.carried++;
    return res;
  };
  return { seen, fetch: fn };
}

function subscribe(opts: CorbelClientOptions, lastEventId: string) {
  const client = createCorbelClient<TestRouter>(opts);
  const ids: string[] = [];
  const errors: unknown[] = [];
  const sub = client.ticks.subscribe(
    { lastEventId },
    { onData: ({ id }) => ids.push(id), onError: (error) => errors.push(error) },
  );
  return { client, ids, errors, stop: () => sub.unsubscribe() };
}

describe('client piggyback (opt-in)', () => {
  it('delivers events with command answers while the stream is held back, then none twice when it flows', async () => {
    await using svc = await startTestService();
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    await using proxy = await startHoldingProxy(svc.url, true);
    const counted = countingFetch();
    // 'sse' pinned: with the stream held back only the commands' answers can bring events.
    const r = subscribe(
      { url: proxy.url, transport: 'sse', piggyback: true, fetch: counted.fetch },
      first.id,
    );
    await until(() => proxy.streamsSeen >= 1, { what: 'the held-back stream', timeoutMs: 5000 });
    const published: string[] = [];
    for (let n = 1; n <= 10; n++) {
      const id = await r.client.publish.mutate({ n });
      published.push(id);
      // The mutation's own event came back in its answer.
      expect(r.ids.at(-1)).toBe(id);
    }
    // Events published by others arrive with the next query's answer.
    for (let n = 11; n <= 15; n++) published.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    expect(await r.client.echo.query('x')).toBe('x');
    expect(r.ids).toEqual(published);
    expect(counted.seen.carried).toBe(11);

    // The proxy lets streams through again: the stream replays from its own id, all of it already delivered.
    proxy.hold = false;
    proxy.cutStreams();
    await until(() => proxy.streamsSeen >= 2, { what: 'the stream to come back' });
    for (let n = 16; n <= 20; n++) published.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    await until(() => r.ids.length >= published.length, { what: 'the events after the release' });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.ids).toEqual(published);
    expect(r.errors).toEqual([]);
    r.stop();
  });

  it('merges with a flowing stream under load: every event once, in order', async () => {
    await using svc = await startTestService();
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const counted = countingFetch();
    const r = subscribe({ url: svc.url, piggyback: true, fetch: counted.fetch }, first.id);
    const published: string[] = [];
    let publishing = true;
    const feed = (async () => {
      for (let n = 1; publishing; n++) {
        published.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
        await new Promise((res) => setTimeout(res, 2));
      }
    })();
    // Commands in parallel with the stream, some batched together.
    for (let i = 0; i < 60; i++) {
      await Promise.all([
        r.client.echo.query(i),
        r.client.echo.query(-i),
        r.client.add.mutate({ a: i, b: 1 }),
      ]);
    }
    publishing = false;
    await feed;
    await until(() => r.ids.at(-1) === published.at(-1), { what: 'the last event' });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.ids.length).toBe(published.length);
    expect(r.ids).toEqual(published);
    // Both ways were in play.
    expect(counted.seen.asked).toBeGreaterThan(0);
    expect(counted.seen.carried).toBeGreaterThan(0);
    r.stop();
    await until(() => svc.hub.stats().subscribers === 0, {
      what: 'the subscription to be released',
      timeoutMs: 5000,
    });
  });

  it('asks for nothing unless enabled, and nothing for a subscription that has ended', async () => {
    await using svc = await startTestService();
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const off = countingFetch();
    const plain = subscribe({ url: svc.url, fetch: off.fetch }, first.id);
    await plain.client.add.mutate({ a: 1, b: 2 });
    await plain.client.echo.query(1);
    expect(off.seen.commands).toBeGreaterThanOrEqual(2);
    expect(off.seen.asked).toBe(0);
    plain.stop();

    const on = countingFetch();
    const r = subscribe({ url: svc.url, piggyback: true, fetch: on.fetch }, first.id);
    await r.client.echo.query(1);
    expect(on.seen.asked).toBe(1);
    r.stop();
    await r.client.echo.query(2);
    expect(on.seen.asked).toBe(1);
  });
});
