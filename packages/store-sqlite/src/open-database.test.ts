import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorbelError } from '@corbel/core';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteLog } from './sqlite-store.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-open-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The CorbelError thrown by `fn` (fails when it does not throw one). */
function thrown(fn: () => unknown): CorbelError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CorbelError);
    return error as CorbelError;
  }
  throw new Error('expected an error');
}

describe('opening the SQLite store', () => {
  it('refuses a file another store holds with STORE_LOCKED, naming the file and what to do', async () => {
    const dir = tempDir();
    const first = createSqliteLog({ dataDir: dir });
    await first.append('c', 1);
    const error = thrown(() => createSqliteLog({ dataDir: dir }));
    expect(error.corbelCode).toBe('STORE_LOCKED');
    expect(error.message).toContain(join(dir, 'events.db'));
    expect(error.message).toMatch(/another (process|station)/);
    expect(error.message).toMatch(/--data/);
    await first.close();
    // Once the first is closed the file opens again, history intact.
    const again = createSqliteLog({ dataDir: dir });
    expect((await again.read('c', { limit: 10 })).map((e) => e.payload)).toEqual([1]);
    await again.close();
  });

  it('refuses a file that is not a database with STORE_CORRUPT', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'events.db'),
      'this is not a database, just some text that got here '.repeat(100),
    );
    const error = thrown(() => createSqliteLog({ dataDir: dir }));
    expect(error.corbelCode).toBe('STORE_CORRUPT');
    expect(error.message).toContain(join(dir, 'events.db'));
    expect(error.message).toMatch(/backup|move it aside/);
  });

  it('refuses a truncated file with STORE_CORRUPT instead of starting empty', async () => {
    const dir = tempDir();
    const log = createSqliteLog({ dataDir: dir });
    for (let i = 0; i < 3000; i++) await log.append('c', { i, pad: 'x'.repeat(200) });
    await log.close();
    const file = join(dir, 'events.db');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const error = thrown(() => createSqliteLog({ dataDir: dir }));
    expect(error.corbelCode).toBe('STORE_CORRUPT');
    expect(error.message).toContain(file);
  });

  it('refuses a file truncated to zero bytes', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'events.db'), '');
    const error = thrown(() => createSqliteLog({ dataDir: dir }));
    expect(error.corbelCode).toBe('STORE_CORRUPT');
    expect(error.message).toMatch(/0 bytes/);
  });

  it('refuses a SQLite database that is not a Corbel store', () => {
    const dir = tempDir();
    const other = new Database(join(dir, 'events.db'));
    other.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
    other.close();
    const error = thrown(() => createSqliteLog({ dataDir: dir }));
    expect(error.corbelCode).toBe('STORE_CORRUPT');
    expect(error.message).toMatch(/not a Corbel event store/);
  });

  it('says when the directory cannot be written', () => {
    const error = thrown(() => createSqliteLog({ file: '/proc/definitely/not/here/events.db' }));
    expect(error.corbelCode).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain('/proc/definitely/not/here/events.db');
  });

  it('keeps the epoch across reopen, so old ids stay valid', async () => {
    const dir = tempDir();
    const a = createSqliteLog({ dataDir: dir });
    const epoch = a.epoch;
    await a.close();
    const b = createSqliteLog({ dataDir: dir, synchronous: 'FULL' });
    expect(b.epoch).toBe(epoch);
    await b.close();
  });
});
