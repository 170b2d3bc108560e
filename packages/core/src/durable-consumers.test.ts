import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { type ConsumerPositions, createMemoryConsumerPositions } from './consumer-positions.js';
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

  describe('claims on a shared store (two instances, one consumer)', () => {
    /** Memory positions with the claims a shared store (Redis) keeps between instances. */
    function sharedPositions(): ConsumerPositions & {
      holders: Map<string, { holder: string; until: number }>;
    } {
      const base = createMemoryConsumerPositions();
      const holders = new Map<string, { holder: string; until: number }>();
      return {
        ...base,
        holders,
        async claim(key, instance, leaseMs) {
          const now = Date.now();
          const held = holders.get(key);
          if (held && held.holder !== instance && held.until > now)
            return { holder: held.holder, expiresAt: held.until };
          holders.set(key, { holder: instance, until: now + leaseMs });
          return { holder: instance, expiresAt: now + leaseMs };
        },
        async release(key, instance) {
          if (holders.get(key)?.holder === instance) holders.delete(key);
        },
      };
    }

    it('a member opening on another instance is refused with CONSUMER_ELSEWHERE until the holder lets the consumer go', async () => {
      const hub = createHub();
      const positions = sharedPositions();
      const a = createDurableConsumers({ hub, positions, lingerMs: 20, instanceId: 'a' });
      const b = createDurableConsumers({ hub, positions, lingerMs: 20, instanceId: 'b' });
      const ac = new AbortController();
      const onA = (await a.subscribe(jobs, { owner: 'alice', name: 'billing', signal: ac.signal }))[
        Symbol.asyncIterator
      ]();
      const refused = await b.subscribe(jobs, { owner: 'alice', name: 'billing' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CorbelError);
      expect((refused as CorbelError).corbelCode).toBe('CONSUMER_ELSEWHERE');
      expect(CorbelError.from(refused).retryable).toBe(true);
      // Another name is another consumer: not refused.
      await b.subscribe(jobs, { owner: 'alice', name: 'audit', signal: AbortSignal.timeout(100) });

      const { id } = await hub.publish(jobs, { n: 1, key: 'a' });
      expect((await next(onA)).eventId).toBe(id);
      ac.abort();
      await sleep(80);
      // Released after the last member left and the position was saved: B takes over, redelivering event 1.
      const ac2 = new AbortController();
      const onB = (await b.subscribe(jobs, { owner: 'alice', name: 'billing', signal: ac2.signal }))[
        Symbol.asyncIterator
      ]();
      expect(await next(onB)).toMatchObject({ eventId: id, deliveries: 2 });
      ac2.abort();
      await a.close();
      await b.close();
      await hub.close();
    });

    it('a holder that finds its claim taken (it lapsed) ends its members with CONSUMER_ELSEWHERE', async () => {
      const hub = createHub();
      const positions = sharedPositions();
      const a = createDurableConsumers({ hub, positions, instanceId: 'a', claimLeaseMs: 60 });
      const onA = (await a.subscribe(jobs, { owner: 'alice', name: 'billing' }))[Symbol.asyncIterator]();
      const key = [...positions.holders.keys()][0]!;
      positions.holders.set(key, { holder: 'b', until: Date.now() + 60_000 });
      const ended = await onA.next().catch((e: unknown) => e);
      expect(CorbelError.from(ended).corbelCode).toBe('CONSUMER_ELSEWHERE');
      // The new holder's claim is left alone.
      await sleep(50);
      expect(positions.holders.get(key)?.holder).toBe('b');
      await a.close();
      await hub.close();
    });
  });
});
