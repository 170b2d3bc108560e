import type { SessionRegistry } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { fixtureOpener } from './fixture-opener.js';

/** One session registry under test, created afresh for every case. */
export interface SessionFixture {
  sessions: SessionRegistry;
  /** Closes the store and opens it again, as a restarted process would; required with `durable`. */
  reopen?(): Promise<SessionRegistry>;
  /** Closes everything this fixture opened and removes its files/keys. */
  cleanup(): Promise<void>;
}

export interface SessionConformanceOptions {
  /** Creates an empty registry whose sessions expire after `ttlMs` idle. */
  create(opts: { ttlMs: number }): Promise<SessionFixture>;
  /** Sessions survive closing and reopening the store (SQLite, Redis). */
  durable: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The contract every `SessionRegistry` keeps: open, get, touch (merging
 * data), list oldest first, end, idle expiry with sweep, and (when durable)
 * sessions that survive a restart.
 *
 * @example
 * runSessionConformance('sqlite', { durable: true, create: async ({ ttlMs }) => ({ sessions, cleanup }) });
 */
export function runSessionConformance(name: string, opts: SessionConformanceOptions): void {
  describe(`session registry conformance: ${name}`, () => {
    const open = fixtureOpener(opts.create, 60_000);

    it('opens a session with a 128-bit id, its owner and data, and finds it again', async () => {
      const { sessions } = await open();
      const s = await sessions.open('alice', { board: 'north' });
      expect(s.id).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatchObject({ owner: 'alice', data: { board: 'north' } });
      expect(s.expiresAt).toBe(s.lastSeenAt + sessions.ttlMs);
      expect(await sessions.get(s.id)).toMatchObject({ id: s.id, owner: 'alice', data: { board: 'north' } });
      expect((await sessions.open('alice')).id).not.toBe(s.id);
    });

    it('unknown and malformed ids are null, never an error', async () => {
      const { sessions } = await open();
      expect(await sessions.get('0'.repeat(32))).toBeNull();
      expect(await sessions.get('not-an-id')).toBeNull();
      expect(await sessions.touch('0'.repeat(32))).toBeNull();
      await sessions.end('not-an-id');
    });

    it('touch moves lastSeenAt and merges data', async () => {
      const { sessions } = await open();
      const s = await sessions.open('bob', { a: 1 });
      await sleep(20);
      const touched = await sessions.touch(s.id, { b: 2 });
      expect(touched!.lastSeenAt).toBeGreaterThan(s.lastSeenAt);
      expect(touched!.data).toEqual({ a: 1, b: 2 });
      expect((await sessions.get(s.id))!.data).toEqual({ a: 1, b: 2 });
    });

    it('lists live sessions oldest first; end removes one', async () => {
      const { sessions } = await open();
      const a = await sessions.open('a');
      await sleep(5);
      const b = await sessions.open('b');
      expect((await sessions.list()).map((s) => s.id)).toEqual([a.id, b.id]);
      await sessions.end(a.id);
      expect(await sessions.get(a.id)).toBeNull();
      expect((await sessions.list()).map((s) => s.id)).toEqual([b.id]);
    });

    it('a session idle past the TTL is gone, and sweep reports it once', async () => {
      const { sessions } = await open(200);
      const s = await sessions.open('carol');
      const kept = await sessions.open('dave');
      await sleep(120);
      await sessions.touch(kept.id);
      await sleep(120);
      expect(await sessions.get(s.id)).toBeNull();
      expect(await sessions.touch(s.id)).toBeNull();
      expect((await sessions.list()).map((x) => x.id)).toEqual([kept.id]);
      expect(await sessions.sweep()).toContain(s.id);
      expect(await sessions.sweep()).not.toContain(s.id);
      expect(await sessions.get(kept.id)).not.toBeNull();
    });

    // Only durable stores promise this; the memory store does not register it (a skip would read as a pass).
    (opts.durable ? it : () => {})('sessions survive a restart of the store', async () => {
      const f = await open();
      const s = await f.sessions.open('erin', { n: 1 });
      const reopened = await f.reopen!();
      expect(await reopened.get(s.id)).toMatchObject({ owner: 'erin', data: { n: 1 } });
    });
  });
}
