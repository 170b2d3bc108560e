import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionChannelName } from '@corbel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteLog, openSqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SQLite retention', () => {
  it('applies retention to reads at once and deletes in small batches that never hold up a publish', async () => {
    const dir = tempDir();
    const big = createSqliteLog({ dataDir: dir, retention: { maxCount: 1_000_000 } });
    for (let i = 0; i < 5_000; i++) await big.append('c', i);
    await big.close();

    // Reopened with a much smaller bound: 4,990 rows to delete.
    const log = createSqliteLog({
      dataDir: dir,
      retention: { maxCount: 10 },
      trimBatch: 200,
      trimIntervalMs: 60_000,
    });
    const kept = await log.read('c', { limit: 100 });
    expect(kept.map((e) => e.payload)).toEqual([...Array(10).keys()].map((i) => 4_990 + i));

    const order: string[] = [];
    const trimming = log.trim().then(() => order.push('trim done'));
    const appended = log.append('c', 'during the trim').then(() => order.push('append acknowledged'));
    await Promise.all([trimming, appended]);
    // 25 delete batches with yields between them: the publish did not wait for them.
    expect(order).toEqual(['append acknowledged', 'trim done']);
    expect((await log.read('c', { limit: 100 })).map((e) => e.payload).at(-1)).toBe('during the trim');
    await log.close();
  });
});

describe('SQLite sessions', () => {
  it('keeps sessions across reopen, expires idle ones and drops their private history', async () => {
    const dir = tempDir();
    let store = openSqliteStore({ dataDir: dir, sessionTtlMs: 60_000 });
    const kept = await store.sessions.open('alice', { board: 'lobby' });
    expect(kept.id).toMatch(/^[0-9a-f]{32}$/);
    await store.log.append(sessionChannelName(kept.id), { text: 'hello' });
    await store.log.close();

    store = openSqliteStore({ dataDir: dir, sessionTtlMs: 60_000 });
    const again = await store.sessions.get(kept.id);
    expect(again).toMatchObject({ id: kept.id, owner: 'alice', data: { board: 'lobby' } });
    const touched = await store.sessions.touch(kept.id, { seen: 'x' });
    expect(touched!.data).toEqual({ board: 'lobby', seen: 'x' });
    expect((await store.sessions.list()).map((s) => s.id)).toEqual([kept.id]);
    await store.log.close();

    // A very short TTL: the session is idle past it after a short wait.
    store = openSqliteStore({ dataDir: dir, sessionTtlMs: 50 });
    const brief = await store.sessions.open('bob');
    await store.log.append(sessionChannelName(brief.id), { text: 'bye' });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await store.sessions.get(brief.id)).toBeNull();
    expect(await store.sessions.sweep()).toEqual([brief.id]);
    expect(await store.log.read(sessionChannelName(brief.id), { limit: 10 })).toEqual([]);
    // The earlier session keeps the TTL it was opened with.
    expect(await store.sessions.get(kept.id)).not.toBeNull();
    expect(await store.sessions.get('not-a-session')).toBeNull();
    await store.log.close();
  });
});
