import { CorbelError, type EventLog, type Retention, type StoredEvent } from '@corbel/core';
import { afterEach, describe, expect, it } from 'vitest';

/** One store under test, created afresh for every case. */
export interface StoreFixture {
  log: EventLog;
  /**
   * Closes `log` (if still open) and opens the same store again, as a restarted
   * process would. Required when the suite runs with `durable: true`.
   */
  reopen?(): Promise<EventLog>;
  /** Closes every log this fixture opened and removes its files/keys. */
  cleanup(): Promise<void>;
}

export interface StoreFixtureOptions {
  /** Retention for every channel; omit for the store's default. */
  retention?: Retention | undefined;
}

export interface StoreConformanceOptions {
  /** Creates an empty store with the given retention. */
  create(opts: StoreFixtureOptions): Promise<StoreFixture>;
  /**
   * The store keeps its history when closed and reopened (its fixtures then
   * must provide `reopen`). False for the memory log: the reopen cases are skipped.
   */
  durable: boolean;
  /**
   * How many events past `maxCount` a store may keep (stores that trim
   * approximately, like Redis `MAXLEN ~`). Default 0: exactly `maxCount`.
   */
  countRetentionSlack?: number | undefined;
  /** Events in the large-replay case (default 5,000). */
  largeReplayCount?: number | undefined;
  /**
   * Whether an id minted by another (e.g. wiped and recreated) store of the
   * same kind is recognised as foreign and refused with HISTORY_GONE
   * (default true; the embedded stores do it through their epoch).
   */
  detectsForeignHistory?: boolean | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Awaits `promise` and returns the Corbel code it was rejected with (fails when it resolves). */
async function corbelCodeOfRejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const found = CorbelError.find(error);
    if (!found) throw new Error(`expected a CorbelError, got ${String(error)}`, { cause: error });
    return found.corbelCode;
  }
  throw new Error('expected a rejection, but the call resolved');
}

/** Reads a whole channel page by page (never more than `pageSize` at once). */
async function readAll(
  log: EventLog,
  channel: string,
  after?: string,
  pageSize = 256,
): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let cursor = after;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await log.read(channel, { after: cursor, limit: pageSize });
    expect(page.length).toBeLessThanOrEqual(pageSize);
    out.push(...page);
    if (page.length === 0) return out;
    cursor = page.at(-1)!.id;
  }
  throw new Error('readAll did not terminate');
}

/** Asserts strictly increasing ids under the log's own order. */
function expectIncreasing(log: EventLog, events: readonly StoredEvent[]) {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!.id;
    const b = events[i]!.id;
    if (!(log.compareIds(a, b) < 0)) throw new Error(`ids out of order at ${i}: ${a} then ${b}`);
  }
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
}

/**
 * Registers the store conformance cases (vitest `describe`/`it`) for one
 * `EventLog` implementation: ordering, ids, resume, retention by count and
 * age, HISTORY_GONE, INVALID_EVENT_ID, concurrent publishers, paged replay of
 * a large backlog, and close/reopen. Every store runs the same file.
 *
 * @example
 * // packages/core/src/memory-log.conformance.test.ts
 * runStoreConformance('memory', {
 *   durable: false,
 *   create: async ({ retention }) => {
 *     const log = createMemoryLog({ retention });
 *     return { log, cleanup: () => log.close() };
 *   },
 * });
 */
export function runStoreConformance(name: string, opts: StoreConformanceOptions): void {
  const slack = opts.countRetentionSlack ?? 0;
  const largeCount = opts.largeReplayCount ?? 5_000;
  const detectsForeign = opts.detectsForeignHistory ?? true;

  describe(`store conformance: ${name}`, () => {
    const fixtures: StoreFixture[] = [];
    const open = async (fixtureOpts: StoreFixtureOptions = {}) => {
      const fixture = await opts.create(fixtureOpts);
      fixtures.push(fixture);
      return fixture;
    };
    afterEach(async () => {
      for (const f of fixtures.splice(0)) await f.cleanup();
    });

    describe('append and read', () => {
      it('assigns increasing ids and reads events back in order with their payloads', async () => {
        const { log } = await open();
        const before = Date.now();
        const appended: StoredEvent[] = [];
        for (let i = 0; i < 20; i++) appended.push(await log.append('c', { n: i, text: `é ${i} ✓` }));
        expectIncreasing(log, appended);
        for (const e of appended) {
          expect(typeof e.id).toBe('string');
          expect(e.channel).toBe('c');
          expect(e.at).toBeGreaterThanOrEqual(before - 1000);
          expect(e.at).toBeLessThanOrEqual(Date.now() + 1000);
        }
        const read = await readAll(log, 'c');
        expect(read.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        expect(read.map((e) => e.payload)).toEqual(appended.map((_, i) => ({ n: i, text: `é ${i} ✓` })));
      });

      it('round-trips rich payloads (Date, Map, Set, BigInt, nesting, null)', async () => {
        const { log } = await open();
        const payload = {
          at: new Date('2024-05-06T07:08:09.010Z'),
          tags: new Set(['a', 'b']),
          byCity: new Map([['Oslo', -3]]),
          big: 12345678901234567890n,
          nested: { list: [1, 'two', { three: null }], empty: {} },
        };
        const stored = await log.append('rich', payload);
        const [read] = await log.read('rich', { limit: 10 });
        expect(read!.id).toBe(stored.id);
        expect(read!.payload).toEqual(payload);
        expect((read!.payload as typeof payload).at).toBeInstanceOf(Date);
      });

      it('compareIds is a consistent order', async () => {
        const { log } = await open();
        const a = await log.append('c', 1);
        const b = await log.append('c', 2);
        expect(log.compareIds(a.id, a.id)).toBe(0);
        expect(log.compareIds(a.id, b.id)).toBeLessThan(0);
        expect(log.compareIds(b.id, a.id)).toBeGreaterThan(0);
      });

      it('keeps channels independent', async () => {
        const { log } = await open();
        for (let i = 0; i < 5; i++) {
          await log.append('left', { side: 'left', i });
          await log.append('right', { side: 'right', i });
        }
        const left = await readAll(log, 'left');
        const right = await readAll(log, 'right');
        expect(left.map((e) => e.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ side: 'left', i })));
        expect(right.map((e) => e.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ side: 'right', i })));
        expect(left.every((e) => e.channel === 'left')).toBe(true);
      });

      it('reads an empty or unknown channel as empty and its latestId as null', async () => {
        const { log } = await open();
        expect(await log.read('nothing-here', { limit: 10 })).toEqual([]);
        expect(await log.latestId('nothing-here')).toBeNull();
      });

      it('latestId follows the newest append', async () => {
        const { log } = await open();
        const a = await log.append('c', 'a');
        expect(await log.latestId('c')).toBe(a.id);
        const b = await log.append('c', 'b');
        expect(await log.latestId('c')).toBe(b.id);
      });

      it('honours the page limit', async () => {
        const { log } = await open();
        for (let i = 0; i < 10; i++) await log.append('c', i);
        const page = await log.read('c', { limit: 3 });
        expect(page.map((e) => e.payload)).toEqual([0, 1, 2]);
        const next = await log.read('c', { after: page.at(-1)!.id, limit: 3 });
        expect(next.map((e) => e.payload)).toEqual([3, 4, 5]);
      });

      it('answers ping when it has one', async () => {
        const { log } = await open();
        if (log.ping) await expect(log.ping()).resolves.toBeUndefined();
      });
    });

    describe('resume', () => {
      it('reads exactly the events after a resume id', async () => {
        const { log } = await open();
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) ids.push((await log.append('c', i)).id);
        await log.checkResumeId('c', ids[4]!);
        const after = await readAll(log, 'c', ids[4]);
        expect(after.map((e) => e.payload)).toEqual([5, 6, 7, 8, 9]);
        expect(after.map((e) => e.id)).toEqual(ids.slice(5));
      });

      it('resuming from the newest id reads nothing, then sees later appends', async () => {
        const { log } = await open();
        const last = await log.append('c', 'x');
        await log.checkResumeId('c', last.id);
        expect(await log.read('c', { after: last.id, limit: 10 })).toEqual([]);
        const next = await log.append('c', 'y');
        const read = await log.read('c', { after: last.id, limit: 10 });
        expect(read.map((e) => e.id)).toEqual([next.id]);
      });

      it.each([
        ['not-an-id'],
        [''],
        ['../../etc/passwd'],
        ['x'.repeat(1000)],
        ['-1'],
        ["1'; DROP TABLE events; --"],
        ['ffffffff-0'],
      ])('refuses the garbage id %j with INVALID_EVENT_ID (read and checkResumeId)', async (bad) => {
        const { log } = await open();
        await log.append('c', 1);
        expect(await corbelCodeOfRejection(log.checkResumeId('c', bad))).toBe('INVALID_EVENT_ID');
        expect(await corbelCodeOfRejection(log.read('c', { after: bad, limit: 10 }))).toBe(
          'INVALID_EVENT_ID',
        );
        // The store still works afterwards.
        expect((await log.read('c', { limit: 10 })).length).toBe(1);
      });

      (detectsForeign ? it : () => {})(
        'refuses an id from another history (a wiped or different store) with HISTORY_GONE',
        async () => {
          const first = await open();
          const other = await open();
          const foreign = await first.log.append('c', 'from the first store');
          await other.log.append('c', 'from the other store');
          expect(await corbelCodeOfRejection(other.log.checkResumeId('c', foreign.id))).toBe('HISTORY_GONE');
          expect(await corbelCodeOfRejection(other.log.read('c', { after: foreign.id, limit: 10 }))).toBe(
            'HISTORY_GONE',
          );
        },
      );
    });

    describe('retention', () => {
      it('keeps at most maxCount events per channel and answers older resumes with HISTORY_GONE', async () => {
        const maxCount = 5;
        const { log } = await open({ retention: { maxCount } });
        const total = maxCount + slack + 20;
        const ids: string[] = [];
        for (let i = 0; i < total; i++) ids.push((await log.append('c', i)).id);
        await log.append('other', 'unaffected');

        const kept = await readAll(log, 'c');
        expect(kept.length).toBeGreaterThanOrEqual(maxCount);
        expect(kept.length).toBeLessThanOrEqual(maxCount + slack);
        // What is kept is the newest contiguous tail.
        expect(kept.map((e) => e.id)).toEqual(ids.slice(total - kept.length));

        expect(await corbelCodeOfRejection(log.checkResumeId('c', ids[0]!))).toBe('HISTORY_GONE');
        expect(await corbelCodeOfRejection(log.read('c', { after: ids[0]!, limit: 10 }))).toBe(
          'HISTORY_GONE',
        );

        // The id just before the oldest kept one is still a complete resume.
        const edge = ids[total - kept.length - 1]!;
        await log.checkResumeId('c', edge);
        expect((await readAll(log, 'c', edge)).map((e) => e.id)).toEqual(kept.map((e) => e.id));

        // Retention is per channel.
        expect((await readAll(log, 'other')).length).toBe(1);
      });

      it('drops events older than maxAgeMs and answers resumes into them with HISTORY_GONE', async () => {
        const maxAgeMs = 1500;
        const { log } = await open({ retention: { maxAgeMs } });
        const old: string[] = [];
        for (let i = 0; i < 3; i++) old.push((await log.append('c', `old ${i}`)).id);
        await sleep(maxAgeMs + 400);
        const fresh: string[] = [];
        for (let i = 0; i < 2; i++) fresh.push((await log.append('c', `fresh ${i}`)).id);

        const kept = await readAll(log, 'c');
        expect(kept.map((e) => e.payload)).toEqual(['fresh 0', 'fresh 1']);
        expect(await corbelCodeOfRejection(log.checkResumeId('c', old[0]!))).toBe('HISTORY_GONE');
        // Resuming from the newest expired id loses nothing, so it is allowed.
        expect((await readAll(log, 'c', old[2])).map((e) => e.id)).toEqual(fresh);
        expect(await log.latestId('c')).toBe(fresh[1]);
      });
    });

    describe('concurrency and volume', () => {
      it('orders concurrent publishers: unique ids, resolution order equals id order', async () => {
        const { log } = await open({ retention: { maxCount: 100_000 } });
        const resolved: StoredEvent[] = [];
        const publishers = [0, 1, 2, 3].map(async (p) => {
          const pending: Promise<unknown>[] = [];
          for (let i = 0; i < 50; i++) {
            pending.push(
              log.append(p % 2 === 0 ? 'even' : 'odd', { p, i }).then((e) => {
                resolved.push(e);
              }),
            );
            if (i % 7 === 0) await Promise.resolve();
          }
          await Promise.all(pending);
        });
        await Promise.all(publishers);
        expect(resolved.length).toBe(200);
        for (const channel of ['even', 'odd']) {
          const inResolutionOrder = resolved.filter((e) => e.channel === channel);
          expectIncreasing(log, inResolutionOrder);
          const read = await readAll(log, channel);
          expect(read.map((e) => e.id)).toEqual(inResolutionOrder.map((e) => e.id));
          // Each publisher's own events stay in the order it published them.
          for (const p of channel === 'even' ? [0, 2] : [1, 3]) {
            const mine = read.map((e) => e.payload as { p: number; i: number }).filter((x) => x.p === p);
            expect(mine.map((x) => x.i)).toEqual([...Array(50).keys()]);
          }
        }
      });

      it(`replays a large backlog (${largeCount} events) page by page, in order, none twice`, async () => {
        const { log } = await open({ retention: { maxCount: largeCount * 2 } });
        const batch: Promise<StoredEvent>[] = [];
        for (let i = 0; i < largeCount; i++) {
          batch.push(log.append('big', { i, pad: 'x'.repeat(64) }));
          if (batch.length === 500) await Promise.all(batch.splice(0));
        }
        await Promise.all(batch);
        const read = await readAll(log, 'big', undefined, 128);
        expect(read.length).toBe(largeCount);
        expectIncreasing(log, read);
        for (let i = 0; i < read.length; i++) {
          if ((read[i]!.payload as { i: number }).i !== i) throw new Error(`event ${i} out of place`);
        }
      });
    });

    describe('appendOnce (publish keys)', () => {
      const once = (log: EventLog) => {
        if (!log.appendOnce) throw new Error(`${name} has no appendOnce`);
        return log.appendOnce.bind(log);
      };

      it('appends once per key: a repeat gets the stored event (its payload) and appends nothing', async () => {
        const { log } = await open();
        const first = await once(log)('c', { n: 1, at: new Date(1) }, 'k1', 60_000);
        expect(first.duplicate).toBe(false);
        const again = await once(log)('c', { n: 1, at: new Date(2) }, 'k1', 60_000);
        expect(again.duplicate).toBe(true);
        expect(again.event.id).toBe(first.event.id);
        expect(again.event.channel).toBe('c');
        expect(again.event.payload).toEqual({ n: 1, at: new Date(1) });
        const other = await once(log)('c', { n: 2 }, 'k2', 60_000);
        expect(other.duplicate).toBe(false);
        expect((await readAll(log, 'c')).map((e) => e.id)).toEqual([first.event.id, other.event.id]);
      });

      it('dedupes keys used concurrently in one turn, in order with plain appends', async () => {
        const { log } = await open();
        const results = await Promise.all([
          once(log)('c', 'a', 'k', 60_000),
          log.append('c', 'plain'),
          once(log)('c', 'b', 'k', 60_000),
        ]);
        const [a, plain, b] = results as [
          { event: StoredEvent; duplicate: boolean },
          StoredEvent,
          { event: StoredEvent; duplicate: boolean },
        ];
        expect(a.duplicate).toBe(false);
        expect(b.duplicate).toBe(true);
        expect(b.event.id).toBe(a.event.id);
        expect((await readAll(log, 'c')).map((e) => e.id)).toEqual([a.event.id, plain.id]);
      });

      it('forgets a key after its TTL', async () => {
        const { log } = await open();
        const first = await once(log)('c', 1, 'short', 50);
        await sleep(120);
        const again = await once(log)('c', 1, 'short', 50);
        expect(again.duplicate).toBe(false);
        expect(again.event.id).not.toBe(first.event.id);
      });

      (opts.durable ? it : () => {})('keeps keys across close and reopen', async () => {
        const fixture = await open();
        const first = await once(fixture.log)('c', { n: 1 }, 'kept', 60_000);
        const log = await fixture.reopen!();
        const again = await once(log)('c', { n: 1 }, 'kept', 60_000);
        expect(again).toEqual({ event: { ...first.event, payload: { n: 1 } }, duplicate: true });
        expect((await readAll(log, 'c')).length).toBe(1);
      });
    });

    describe('close and reopen', () => {
      it('refuses appends after close', async () => {
        const { log } = await open();
        await log.append('c', 1);
        await log.close();
        await expect(log.append('c', 2)).rejects.toThrow();
      });

      (opts.durable ? it : () => {})(
        'keeps events, ids and payloads across close and reopen; new ids continue after them',
        async () => {
          const fixture = await open();
          const before: StoredEvent[] = [];
          for (let i = 0; i < 10; i++) before.push(await fixture.log.append('c', { i, at: new Date(i) }));
          await fixture.log.close();
          const log = await fixture.reopen!();
          const read = await readAll(log, 'c');
          expect(read.map((e) => e.id)).toEqual(before.map((e) => e.id));
          expect(read.map((e) => e.payload)).toEqual(before.map((e) => e.payload));
          expect(await log.latestId('c')).toBe(before.at(-1)!.id);
          await log.checkResumeId('c', before[3]!.id);
          expect((await readAll(log, 'c', before[3]!.id)).length).toBe(6);

          const after = await log.append('c', { i: 10, at: new Date(10) });
          expect(log.compareIds(before.at(-1)!.id, after.id)).toBeLessThan(0);
          expect(before.map((e) => e.id)).not.toContain(after.id);
        },
      );

      (opts.durable ? it : () => {})(
        'keeps retention trims across reopen (no resurrected history)',
        async () => {
          const fixture = await open({ retention: { maxCount: 3 } });
          const ids: string[] = [];
          for (let i = 0; i < 10 + slack; i++) ids.push((await fixture.log.append('c', i)).id);
          const log = await fixture.reopen!();
          expect(await corbelCodeOfRejection(log.checkResumeId('c', ids[0]!))).toBe('HISTORY_GONE');
          const kept = await readAll(log, 'c');
          expect(kept.at(-1)!.id).toBe(ids.at(-1));
        },
      );

      (opts.durable ? it : () => {})(
        'survives several reopen cycles with ids that never repeat',
        async () => {
          const fixture = await open();
          let log = fixture.log;
          const all: string[] = [];
          for (let round = 0; round < 3; round++) {
            for (let i = 0; i < 5; i++) all.push((await log.append('c', { round, i })).id);
            log = await fixture.reopen!();
          }
          expect(new Set(all).size).toBe(all.length);
          const read = await readAll(log, 'c');
          expect(read.map((e) => e.id)).toEqual(all);
          expectIncreasing(log, read);
        },
      );
    });
  });
}
