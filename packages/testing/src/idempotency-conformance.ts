import type { IdempotencyStore } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { fixtureOpener } from './fixture-opener.js';

/** One idempotency store under test, created afresh for every case. */
export interface IdempotencyFixture {
  store: IdempotencyStore;
  /**
   * Another handle on the same records, as a second process (or instance)
   * would open it: a second connection to the same file or Redis. Omit when
   * the store cannot be shared (memory); the cross-handle cases are skipped.
   */
  openAnother?(): Promise<IdempotencyStore>;
  /** Closes `store` and opens it again, as a restarted process would; required with `durable`. */
  reopen?(): Promise<IdempotencyStore>;
  /** Closes everything this fixture opened and removes its files/keys. */
  cleanup(): Promise<void>;
}

export interface IdempotencyConformanceOptions {
  /** Creates an empty store whose done records live `ttlMs`. */
  create(opts: { ttlMs: number }): Promise<IdempotencyFixture>;
  /** Records survive closing and reopening the store (SQLite, Redis). */
  durable: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LONG = 60_000;

/**
 * The contract every `IdempotencyStore` keeps: one claim wins, repeats get
 * the recorded bytes, another input is a mismatch, leases lapse, records
 * expire, and (when durable) survive a restart.
 *
 * @example
 * runIdempotencyConformance('sqlite', { durable: true, create: async ({ ttlMs }) => ({ store: store.idempotency, cleanup }) });
 */
export function runIdempotencyConformance(name: string, opts: IdempotencyConformanceOptions): void {
  describe(`idempotency store conformance: ${name}`, () => {
    const open = fixtureOpener(opts.create, LONG);

    it('the first claim runs; after complete, a repeat gets the recorded response byte for byte', async () => {
      const { store } = await open();
      const claim = await store.claim('s1', 'f1', LONG);
      expect(claim.state).toBe('claimed');
      if (claim.state !== 'claimed') return;
      const body = '{"result":{"data":{"json":{"id":"é✓-1","n":1.50}}}}';
      expect(await store.complete('s1', claim.token, { status: 200, body })).toBe(true);
      for (let i = 0; i < 2; i++) {
        expect(await store.claim('s1', 'f1', LONG)).toEqual({
          state: 'done',
          response: { status: 200, body },
        });
      }
    });

    it('a repeat while the first run holds its lease is pending', async () => {
      const { store } = await open();
      expect((await store.claim('s1', 'f1', LONG)).state).toBe('claimed');
      expect(await store.claim('s1', 'f1', LONG)).toEqual({ state: 'pending' });
    });

    it('the same scope with another input is a mismatch, pending or done', async () => {
      const { store } = await open();
      const claim = await store.claim('s1', 'f1', LONG);
      expect(await store.claim('s1', 'f2', LONG)).toEqual({ state: 'mismatch' });
      if (claim.state !== 'claimed') throw new Error('expected a claim');
      await store.complete('s1', claim.token, { status: 422, body: '{}' });
      expect(await store.claim('s1', 'f2', LONG)).toEqual({ state: 'mismatch' });
    });

    it('scopes are independent', async () => {
      const { store } = await open();
      expect((await store.claim('a', 'f', LONG)).state).toBe('claimed');
      expect((await store.claim('b', 'f', LONG)).state).toBe('claimed');
    });

    it('a released claim can be claimed again; a wrong token releases nothing', async () => {
      const { store } = await open();
      const first = await store.claim('s1', 'f1', LONG);
      if (first.state !== 'claimed') throw new Error('expected a claim');
      await store.release('s1', 'not-the-token');
      expect((await store.claim('s1', 'f1', LONG)).state).toBe('pending');
      await store.release('s1', first.token);
      expect((await store.claim('s1', 'f1', LONG)).state).toBe('claimed');
    });

    it('a lapsed lease can be taken over, and the old holder can no longer complete', async () => {
      const { store } = await open();
      const first = await store.claim('s1', 'f1', 100);
      if (first.state !== 'claimed') throw new Error('expected a claim');
      await sleep(250);
      const second = await store.claim('s1', 'f1', LONG);
      expect(second.state).toBe('claimed');
      expect(await store.complete('s1', first.token, { status: 200, body: 'old' })).toBe(false);
      if (second.state !== 'claimed') return;
      expect(await store.complete('s1', second.token, { status: 200, body: 'new' })).toBe(true);
      expect(await store.claim('s1', 'f1', LONG)).toEqual({
        state: 'done',
        response: { status: 200, body: 'new' },
      });
    });

    it('a done record expires after the TTL', async () => {
      const { store } = await open(200);
      expect(store.ttlMs).toBe(200);
      const claim = await store.claim('s1', 'f1', LONG);
      if (claim.state !== 'claimed') throw new Error('expected a claim');
      await store.complete('s1', claim.token, { status: 200, body: 'x' });
      expect((await store.claim('s1', 'f1', LONG)).state).toBe('done');
      await sleep(400);
      expect((await store.claim('s1', 'f2', LONG)).state).toBe('claimed');
    });

    it('of many concurrent claims exactly one wins', async () => {
      const f = await open();
      const stores = [f.store];
      if (f.openAnother) stores.push(await f.openAnother(), await f.openAnother());
      const claims = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % stores.length]!.claim('race', 'f', LONG)),
      );
      expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.state === 'pending')).toHaveLength(29);
    });

    // Only durable stores promise this; the memory store does not register it (a skip would read as a pass).
    (opts.durable ? it : () => {})('a done record survives a restart of the store', async () => {
      const f = await open();
      const claim = await f.store.claim('s1', 'f1', LONG);
      if (claim.state !== 'claimed') throw new Error('expected a claim');
      await f.store.complete('s1', claim.token, { status: 200, body: 'kept' });
      const reopened = await f.reopen!();
      expect(await reopened.claim('s1', 'f1', LONG)).toEqual({
        state: 'done',
        response: { status: 200, body: 'kept' },
      });
      expect(await reopened.claim('s1', 'f2', LONG)).toEqual({ state: 'mismatch' });
    });
  });
}
