import type { ConsumerPositions } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { fixtureOpener } from './fixture-opener.js';

/** One consumer-position store under test, created afresh for every case. */
export interface ConsumerFixture {
  positions: ConsumerPositions;
  /** Closes the store and opens it again, as a restarted process would; required with `durable`. */
  reopen?(): Promise<ConsumerPositions>;
  /** Closes everything this fixture opened and removes its files/keys. */
  cleanup(): Promise<void>;
}

export interface ConsumerConformanceOptions {
  /** Creates an empty store whose consumers expire after `ttlMs` idle. */
  create(opts: { ttlMs: number }): Promise<ConsumerFixture>;
  /** Positions survive closing and reopening the store (SQLite, Redis). */
  durable: boolean;
  /**
   * Several instances share the store (Redis), so a claim held by one refuses
   * the others until released or lapsed. Single-process stores (memory,
   * SQLite) grant every claim.
   */
  shared: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const KEY = 'alice\nbilling\nweather.readings';

/**
 * The contract every `ConsumerPositions` store keeps: save and get a
 * position, replace it, keep consumers apart by key, report an idle consumer
 * as expired (not unknown) so it can be told HISTORY_GONE, delete, (when
 * durable) positions that survive a restart, and claims: an instance claims,
 * renews and releases a consumer, and (when shared) one instance's claim
 * refuses the others until it is released or lapses.
 *
 * @example
 * runConsumerConformance('sqlite', { durable: true, shared: false, create: async ({ ttlMs }) => ({ positions, cleanup }) });
 */
export function runConsumerConformance(name: string, opts: ConsumerConformanceOptions): void {
  describe(`consumer positions conformance: ${name}`, () => {
    const open = fixtureOpener(opts.create, 60_000);

    it('an unknown consumer is null; a saved position is found again with its expiry', async () => {
      const { positions } = await open();
      expect(await positions.get(KEY)).toBeNull();
      const saved = await positions.save(KEY, { acked: 'e-4', delivered: 'e-6' });
      expect(saved).toMatchObject({ key: KEY, acked: 'e-4', delivered: 'e-6' });
      expect(saved.expiresAt).toBe(saved.lastSeenAt + positions.ttlMs);
      expect(await positions.get(KEY)).toMatchObject({
        acked: 'e-4',
        delivered: 'e-6',
        expiresAt: saved.expiresAt,
      });
    });

    it('save replaces the position and moves lastSeenAt; keys are kept apart', async () => {
      const { positions } = await open();
      const first = await positions.save(KEY, { acked: '0', delivered: '0' });
      await positions.save('bob\nbilling\nweather.readings', { acked: 'x-1', delivered: 'x-1' });
      await sleep(20);
      const second = await positions.save(KEY, { acked: 'e-9', delivered: 'e-10' });
      expect(second.lastSeenAt).toBeGreaterThan(first.lastSeenAt);
      expect(await positions.get(KEY)).toMatchObject({ acked: 'e-9', delivered: 'e-10' });
      expect(await positions.get('bob\nbilling\nweather.readings')).toMatchObject({ acked: 'x-1' });
    });

    it('a consumer idle past the TTL is reported expired, not forgotten; a save revives it', async () => {
      const { positions } = await open(150);
      await positions.save(KEY, { acked: 'e-1', delivered: 'e-1' });
      await sleep(250);
      const expired = await positions.get(KEY);
      expect(expired).not.toBeNull();
      expect(expired!.expiresAt).toBeLessThanOrEqual(Date.now());
      await positions.save(KEY, { acked: 'e-2', delivered: 'e-2' });
      expect((await positions.get(KEY))!.expiresAt).toBeGreaterThan(Date.now());
    });

    it('delete forgets a consumer', async () => {
      const { positions } = await open();
      await positions.save(KEY, { acked: 'e-1', delivered: 'e-1' });
      await positions.delete(KEY);
      expect(await positions.get(KEY)).toBeNull();
      await positions.delete(KEY);
    });

    it('an instance claims a consumer, renews its claim, and claims it again after releasing it', async () => {
      const { positions } = await open();
      const before = Date.now();
      const first = await positions.claim(KEY, 'instance-a', 10_000);
      expect(first.holder).toBe('instance-a');
      expect(first.expiresAt).toBeGreaterThanOrEqual(before + 9_000);
      expect(first.expiresAt).toBeLessThanOrEqual(Date.now() + 10_000);
      await sleep(20);
      const renewed = await positions.claim(KEY, 'instance-a', 10_000);
      expect(renewed.holder).toBe('instance-a');
      expect(renewed.expiresAt).toBeGreaterThan(first.expiresAt);
      await positions.release(KEY, 'instance-a');
      expect((await positions.claim(KEY, 'instance-a', 10_000)).holder).toBe('instance-a');
      await positions.release(KEY, 'instance-a');
    });

    // Only shared stores promise these; single-process stores do not register them (a skip would read as a pass).
    (opts.shared ? it : () => {})(
      "a held claim refuses another instance, naming the holder, until it is released; releasing another's claim does nothing",
      async () => {
        const { positions } = await open();
        await positions.claim(KEY, 'instance-a', 10_000);
        const refused = await positions.claim(KEY, 'instance-b', 10_000);
        expect(refused.holder).toBe('instance-a');
        expect(refused.expiresAt).toBeGreaterThan(Date.now());
        await positions.release(KEY, 'instance-b');
        expect((await positions.claim(KEY, 'instance-b', 10_000)).holder).toBe('instance-a');
        // Claims are per consumer.
        expect((await positions.claim('bob\nbilling\nweather.readings', 'instance-b', 10_000)).holder).toBe(
          'instance-b',
        );
        await positions.release(KEY, 'instance-a');
        expect((await positions.claim(KEY, 'instance-b', 10_000)).holder).toBe('instance-b');
        expect((await positions.claim(KEY, 'instance-a', 10_000)).holder).toBe('instance-b');
      },
    );

    (opts.shared ? it : () => {})(
      'a claim not renewed lapses, and another instance takes the consumer',
      async () => {
        const { positions } = await open();
        await positions.claim(KEY, 'instance-a', 150);
        expect((await positions.claim(KEY, 'instance-b', 150)).holder).toBe('instance-a');
        await sleep(250);
        expect((await positions.claim(KEY, 'instance-b', 10_000)).holder).toBe('instance-b');
        // The old holder, back late, is refused rather than taking it back.
        expect((await positions.claim(KEY, 'instance-a', 10_000)).holder).toBe('instance-b');
      },
    );

    // Only durable stores promise this; the memory store does not register it (a skip would read as a pass).
    (opts.durable ? it : () => {})('positions survive a restart of the store', async () => {
      const f = await open();
      await f.positions.save(KEY, { acked: 'e-7', delivered: 'e-8' });
      const reopened = await f.reopen!();
      expect(await reopened.get(KEY)).toMatchObject({ acked: 'e-7', delivered: 'e-8' });
    });
  });
}
