import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { CorbelError } from './errors.js';
import { createHub } from './hub.js';
import { createMemoryLog } from './memory-log.js';
import { pullBatch } from './subscription.js';

const ticks = defineChannel('test.ticks', z.object({ n: z.number().int(), tag: z.string().default('a') }));

/** Collects `count` payload numbers from a subscription, with a bound on time. */
async function take(
  iter: AsyncIterable<any>,
  count: number,
  timeoutMs = 5000,
): Promise<{ id: string; n: number }[]> {
  const out: { id: string; n: number }[] = [];
  const deadline = setTimeout(() => {
    throw new Error(`timed out after ${out.length}/${count}`);
  }, timeoutMs);
  try {
    for await (const [id, payload] of iter) {
      out.push({ id, n: payload.n });
      if (out.length === count) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

describe('hub', () => {
  it('publishes in order with increasing ids and delivers to live subscribers', async () => {
    const hub = createHub();
    const sub = await hub.subscribe(ticks);
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push((await hub.publish(ticks, { n })).id);
    const got = await take(sub, 5);
    expect(got.map((g) => g.n)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((g) => g.id)).toEqual(ids);
    const sorted = [...ids].sort((a, b) => hub.log.compareIds(a, b));
    expect(sorted).toEqual(ids);
    await hub.close();
  });

  it('validates payloads and stores nothing on failure', async () => {
    const hub = createHub();
    await expect(hub.publish(ticks, { n: 1.5 } as any)).rejects.toMatchObject({
      corbelCode: 'INVALID_PAYLOAD',
      code: 'BAD_REQUEST',
    });
    expect(await hub.log.latestId(ticks.name)).toBeNull();
    await hub.close();
  });

  it('applies the filter to live and replayed events', async () => {
    const hub = createHub();
    const first = await hub.publish(ticks, { n: 0, tag: 'x' });
    await hub.publish(ticks, { n: 1, tag: 'y' });
    await hub.publish(ticks, { n: 2, tag: 'x' });
    const sub = await hub.subscribe(ticks, { after: first.id, filter: (p) => p.tag === 'x' });
    await hub.publish(ticks, { n: 3, tag: 'y' });
    await hub.publish(ticks, { n: 4, tag: 'x' });
    expect((await take(sub, 2)).map((g) => g.n)).toEqual([2, 4]);
    await hub.close();
  });

  it('resumes after an id with no gap and no duplicate while publishes race the subscribe', async () => {
    const hub = createHub({ replayPageSize: 7, maxQueue: 10_000 });
    const total = 2000;
    const first = await hub.publish(ticks, { n: 0 });
    // Publishers run concurrently with several resuming subscribers.
    const publishing = (async () => {
      for (let n = 1; n < total; n++) {
        await hub.publish(ticks, { n });
        if (n % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    const subscribers = [0, 5, 20, 60].map(async (delay) => {
      await new Promise((r) => setTimeout(r, delay));
      const sub = await hub.subscribe(ticks, { after: first.id });
      return take(sub, total - 1, 15_000);
    });
    await publishing;
    for (const got of await Promise.all(subscribers)) {
      expect(got.map((g) => g.n)).toEqual(Array.from({ length: total - 1 }, (_, i) => i + 1));
    }
    await hub.close();
  });

  it('keeps resuming from the log when the live queue overflows during a replay', async () => {
    const hub = createHub({ replayPageSize: 10, maxQueue: 5 });
    const first = await hub.publish(ticks, { n: 0 });
    for (let n = 1; n <= 100; n++) await hub.publish(ticks, { n });
    const sub = await hub.subscribe(ticks, { after: first.id });
    // 50 more while the subscriber has not read anything: its queue (5) overflows in replay.
    for (let n = 101; n <= 150; n++) await hub.publish(ticks, { n });
    const got = await take(sub, 150);
    expect(got.map((g) => g.n)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    await hub.close();
  });

  it('cuts off a live subscriber that falls behind with the retryable SLOW_CONSUMER error', async () => {
    const hub = createHub({ maxQueue: 8 });
    const sub = await hub.subscribe(ticks);
    for (let n = 1; n <= 9; n++) await hub.publish(ticks, { n });
    expect(hub.stats().subscribers).toBe(0);
    const error = await sub[pullBatch](10).catch((e) => e);
    expect(error).toBeInstanceOf(CorbelError);
    expect(error).toMatchObject({
      corbelCode: 'SLOW_CONSUMER',
      retryable: true,
      code: 'SERVICE_UNAVAILABLE',
    });
    // Its position is in the log: a resume from its last id gets everything.
    const again = await hub.subscribe(ticks, {
      after: (await hub.log.read(ticks.name, { limit: 1 }))[0]!.id,
    });
    expect((await take(again, 8)).map((g) => g.n)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    await hub.close();
  });

  it('refuses garbage ids with INVALID_EVENT_ID before streaming', async () => {
    const hub = createHub();
    await hub.publish(ticks, { n: 1 });
    for (const bad of ['garbage', '', '12345678-0', 'zzzzzzzz-1', `${'a'.repeat(8)}-${'9'.repeat(30)}`]) {
      await expect(hub.subscribe(ticks, { after: bad || 'x' })).rejects.toMatchObject({
        corbelCode: 'INVALID_EVENT_ID',
        code: 'BAD_REQUEST',
      });
    }
    expect(hub.stats().subscribers).toBe(0);
    await hub.close();
  });

  it('answers an id older than the retained history with HISTORY_GONE, never silent loss', async () => {
    const hub = createHub({ log: createMemoryLog({ retention: { maxCount: 3 } }) });
    const first = await hub.publish(ticks, { n: 1 });
    const second = await hub.publish(ticks, { n: 2 });
    for (let n = 3; n <= 5; n++) await hub.publish(ticks, { n });
    await expect(hub.subscribe(ticks, { after: first.id })).rejects.toMatchObject({
      corbelCode: 'HISTORY_GONE',
    });
    // The last trimmed id is still a valid resume point: nothing after it is missing.
    const sub = await hub.subscribe(ticks, { after: second.id });
    expect((await take(sub, 3)).map((g) => g.n)).toEqual([3, 4, 5]);
    await hub.close();
  });

  it('answers an id from another log (a restarted memory store) with HISTORY_GONE', async () => {
    const before = createHub();
    const { id } = await before.publish(ticks, { n: 1 });
    await before.close();
    const after = createHub();
    await after.publish(ticks, { n: 1 });
    await expect(after.subscribe(ticks, { after: id })).rejects.toMatchObject({ corbelCode: 'HISTORY_GONE' });
    await after.close();
  });

  it('leaves no subscriber, listener or queue behind when the client aborts', async () => {
    const hub = createHub();
    const controller = new AbortController();
    const sub = await hub.subscribe(ticks, { signal: controller.signal });
    await hub.publish(ticks, { n: 1 });
    expect(hub.stats().subscribers).toBe(1);
    const pending = sub[pullBatch](10);
    expect((await pending)?.length).toBe(1);
    const waiting = sub[pullBatch](10);
    controller.abort();
    expect(await waiting).toBeNull();
    expect(hub.stats()).toEqual({ channels: {}, subscribers: 0 });
    // A thousand subscribe/abort cycles leave nothing behind.
    for (let i = 0; i < 1000; i++) {
      const c = new AbortController();
      await hub.subscribe(ticks, { signal: c.signal });
      c.abort();
    }
    expect(hub.stats().subscribers).toBe(0);
    await hub.close();
  });

  it('stops listening to a long-lived signal when the subscription ends first', async () => {
    const hub = createHub();
    const shared = new AbortController();
    for (let i = 0; i < 100; i++) {
      const sub = await hub.subscribe(ticks, { signal: shared.signal });
      await sub[Symbol.asyncIterator]().return?.();
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    const live = await hub.subscribe(ticks, { signal: shared.signal });
    expect(getEventListeners(shared.signal, 'abort')).toEqual([live]);
    shared.abort();
    expect(live.endReason).toBe('client-gone');
    expect(hub.stats().subscribers).toBe(0);
    await hub.close();
  });

  it('ends subscriptions with the retryable DRAINING error on drain and refuses new ones', async () => {
    const hub = createHub();
    const sub = await hub.subscribe(ticks);
    const pending = sub[pullBatch](10).catch((e) => e);
    hub.drain();
    expect(await pending).toMatchObject({ corbelCode: 'DRAINING', retryable: true });
    await expect(hub.subscribe(ticks)).rejects.toMatchObject({ corbelCode: 'DRAINING' });
    await hub.close();
  });

  it('hands ready events over in one batch (coalesced writes)', async () => {
    const hub = createHub();
    const sub = await hub.subscribe(ticks);
    for (let n = 1; n <= 50; n++) await hub.publish(ticks, { n });
    const batch = await sub[pullBatch](256);
    expect(batch?.length).toBe(50);
    // The envelope is shared, so the serving path serializes it once for every subscriber.
    const other = await hub.subscribe(ticks);
    const e = await hub.publish(ticks, { n: 51 });
    const [a] = (await sub[pullBatch](1))!;
    const [b] = (await other[pullBatch](1))!;
    expect(a).toBe(b);
    expect(a![0]).toBe(e.id);
    await hub.close();
  });
});
