import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { createMemoryConsumerPositions } from './consumer-positions.js';
import { parseDeliveryId } from './delivery-id.js';
import { createDurableConsumers, type DurableConsumersOptions } from './durable-consumers.js';
import { CorbelError } from './errors.js';
import { createHub } from './hub.js';

const jobs = defineChannel('test.jobs', z.object({ n: z.number().int(), key: z.string().default('a') }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Got {
  id: string;
  eventId: string;
  deliveries: number;
  n: number;
}

/** Pulls one delivery, failing after `ms` (the iterator stays usable). */
async function next(it: AsyncIterator<any>, ms = 2000): Promise<Got> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no delivery within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new Error('stream ended');
    const [id, payload] = r.value;
    return { id, ...parseDeliveryId(id), n: payload.n };
  } finally {
    clearTimeout(timer);
  }
}

/** True when nothing arrives within `ms`. */
async function quiet(it: AsyncIterator<any>, ms: number): Promise<boolean> {
  const got = await Promise.race([it.next().then(() => 'got'), sleep(ms).then(() => 'quiet')]);
  return got === 'quiet';
}

function setup(extra: Partial<DurableConsumersOptions> = {}, ttlMs?: number) {
  const hub = createHub();
  const positions = createMemoryConsumerPositions({ ttlMs });
  const consumers = createDurableConsumers({ hub, positions, lingerMs: 20, ...extra });
  const join = async (name = 'billing', key?: (p: { key: string }) => string) => {
    const ac = new AbortController();
    const stream = await consumers.subscribe(jobs, { owner: 'alice', name, signal: ac.signal, key });
    return { it: stream[Symbol.asyncIterator](), leave: () => ac.abort() };
  };
  const publish = async (n: number, key = 'a') => (await hub.publish(jobs, { n, key })).id;
  return { hub, positions, consumers, join, publish };
}

describe('durable consumers', () => {
  it('a consumer that comes back resumes after the last event it acknowledged; the rest are redeliveries', async () => {
    const { consumers, join, publish } = setup();
    const a = await join();
    for (let n = 1; n <= 3; n++) await publish(n);
    const got = [await next(a.it), await next(a.it), await next(a.it)];
    expect(got.map((g) => [g.n, g.deliveries])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(await consumers.ack('alice', 'billing', 'test.jobs', [got[0]!.id, got[1]!.id])).toBe(2);
    a.leave();
    await sleep(60);
    await publish(4);
    const b = await join();
    const again = [await next(b.it), await next(b.it)];
    expect(again.map((g) => [g.n, g.deliveries])).toEqual([
      [3, 2],
      [4, 1],
    ]);
    b.leave();
  });

  it('an event not acknowledged within the timeout is delivered again with its count', async () => {
    const { join, publish, consumers } = setup({ ackTimeoutMs: 100 });
    const a = await join();
    await publish(1);
    const first = await next(a.it);
    const second = await next(a.it);
    expect([first.n, first.deliveries, second.n, second.deliveries]).toEqual([1, 1, 1, 2]);
    await consumers.ack('alice', 'billing', 'test.jobs', [second.id]);
    expect(await quiet(a.it, 300)).toBe(true);
    a.leave();
  });

  it('members of a group share the events: each goes to exactly one of them', async () => {
    const { join, publish, consumers } = setup();
    const a = await join();
    const b = await join();
    for (let n = 1; n <= 10; n++) await publish(n);
    const seen: number[] = [];
    const byA: number[] = [];
    for (let i = 0; i < 5; i++) {
      const g = await next(a.it);
      byA.push(g.n);
      seen.push(g.n);
      await consumers.ack('alice', 'billing', 'test.jobs', [g.id]);
    }
    for (let i = 0; i < 5; i++) {
      const g = await next(b.it);
      seen.push(g.n);
      await consumers.ack('alice', 'billing', 'test.jobs', [g.id]);
    }
    expect(seen.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(byA.length).toBe(5);
    a.leave();
    b.leave();
  });

  it('a member that leaves with events unacknowledged has them handed to another', async () => {
    const { join, publish } = setup();
    const a = await join();
    const b = await join();
    for (let n = 1; n <= 4; n++) await publish(n);
    const fromA = [await next(a.it), await next(a.it)];
    a.leave();
    const fromB: Got[] = [];
    for (let i = 0; i < 4; i++) fromB.push(await next(b.it));
    expect(fromB.map((g) => g.n).sort()).toEqual([1, 2, 3, 4]);
    for (const g of fromA) expect(fromB.find((x) => x.n === g.n)!.deliveries).toBe(2);
    b.leave();
  });

  it("a key's outstanding events are held by one member at a time, so each key is processed in order", async () => {
    const { join, publish, consumers } = setup();
    const a = await join('orders', (p) => p.key);
    const b = await join('orders', (p) => p.key);
    for (let n = 1; n <= 6; n++) await publish(n, n % 2 === 0 ? 'oslo' : 'lima');
    // Nothing acknowledged yet: each key's events all wait at one member.
    const fromA = [await next(a.it), await next(a.it), await next(a.it)];
    const fromB = [await next(b.it), await next(b.it), await next(b.it)];
    const keyOf = (g: Got) => (g.n % 2 === 0 ? 'oslo' : 'lima');
    expect(new Set(fromA.map(keyOf)).size).toBe(1);
    expect(new Set(fromB.map(keyOf)).size).toBe(1);
    expect(fromA.map((g) => g.n)).toEqual([...fromA.map((g) => g.n)].sort((x, y) => x - y));
    await consumers.ack(
      'alice',
      'orders',
      'test.jobs',
      [...fromA, ...fromB].map((g) => g.id),
    );
    // Once a key has nothing outstanding it may go to either member: both take turns.
    for (let n = 7; n <= 8; n++) await publish(n, 'lima');
    const got = await Promise.all([next(a.it), next(b.it)].map((p) => p.catch(() => null)));
    expect(got.filter((g) => g !== null).length).toBeGreaterThanOrEqual(1);
    a.leave();
    b.leave();
  });

  it('members take turns: a single key shared by a group whose members acknowledge at once reaches both', async () => {
    const { join, publish, consumers } = setup();
    const a = await join('turns', (p) => p.key);
    const b = await join('turns', (p) => p.key);
    const seen = { a: 0, b: 0 };
    const collect = async (it: AsyncIterator<any>, who: 'a' | 'b') => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        seen[who]++;
        await consumers.ack('alice', 'turns', 'test.jobs', [r.value[0]]);
      }
    };
    void collect(a.it, 'a');
    void collect(b.it, 'b');
    for (let n = 1; n <= 10; n++) {
      await publish(n, 'oslo');
      await sleep(5);
    }
    for (let i = 0; i < 100 && seen.a + seen.b < 10; i++) await sleep(10);
    expect(seen.a + seen.b).toBe(10);
    expect(seen.a).toBeGreaterThan(0);
    expect(seen.b).toBeGreaterThan(0);
    a.leave();
    b.leave();
  });

  it('a consumer idle past its TTL is told HISTORY_GONE once, then starts afresh from now', async () => {
    const { join, publish } = setup({}, 150);
    const a = await join();
    await publish(1);
    await next(a.it);
    a.leave();
    await sleep(300);
    await publish(2);
    const refused = await join().then(
      () => null,
      (e: unknown) => e,
    );
    expect(CorbelError.find(refused)?.corbelCode).toBe('HISTORY_GONE');
    const b = await join();
    await publish(3);
    expect((await next(b.it)).n).toBe(3);
    b.leave();
  });

  it('names are scoped to their owner and channel', async () => {
    const { hub, consumers, publish } = setup();
    const ac = new AbortController();
    const mine = (await consumers.subscribe(jobs, { owner: 'alice', name: 'x', signal: ac.signal }))[
      Symbol.asyncIterator
    ]();
    const theirs = (await consumers.subscribe(jobs, { owner: 'bob', name: 'x', signal: ac.signal }))[
      Symbol.asyncIterator
    ]();
    await publish(1);
    expect((await next(mine)).n).toBe(1);
    expect((await next(theirs)).n).toBe(1);
    ac.abort();
    await hub.close();
  });
});
