import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './sqlite-store.js';

describe('sqlite idempotency records', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a claim left pending by a process that died is free as soon as the store reopens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-idem-'));
    dirs.push(dir);
    const first = openSqliteStore({ dataDir: dir });
    expect((await first.idempotency.claim('s', 'f', 60_000)).state).toBe('claimed');
    const done = await first.idempotency.claim('d', 'f', 60_000);
    if (done.state !== 'claimed') throw new Error('expected a claim');
    await first.idempotency.complete('d', done.token, { status: 200, body: 'kept' });
    await first.log.close();

    const second = openSqliteStore({ dataDir: dir });
    try {
      expect((await second.idempotency.claim('s', 'f', 60_000)).state).toBe('claimed');
      expect(await second.idempotency.claim('d', 'f', 60_000)).toEqual({
        state: 'done',
        response: { status: 200, body: 'kept' },
      });
    } finally {
      await second.log.close();
    }
  });

  it('keeps at most maxRecords, dropping the oldest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-idem-'));
    dirs.push(dir);
    const store = openSqliteStore({ dataDir: dir });
    const { createSqliteIdempotencyOn } = await import('./sqlite-idempotency.js');
    const { openDatabase } = await import('./open-database.js');
    await store.log.close();
    const opened = openDatabase(join(dir, 'events.db'));
    try {
      const small = createSqliteIdempotencyOn(opened, { maxRecords: 10 });
      // Sweeps run every 256 completions.
      for (let i = 0; i < 256; i++) {
        const c = await small.claim(`s${i}`, 'f', 60_000);
        if (c.state === 'claimed') await small.complete(`s${i}`, c.token, { status: 200, body: String(i) });
      }
      const left = opened.db.prepare('SELECT count(*) FROM corbel_idempotency').pluck().get();
      expect(left).toBe(10);
      expect((await small.claim('s255', 'f', 60_000)).state).toBe('done');
      expect((await small.claim('s0', 'f', 60_000)).state).toBe('claimed');
    } finally {
      opened.db.close();
    }
  });
});
