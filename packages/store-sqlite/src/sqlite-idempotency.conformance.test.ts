import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIdempotencyConformance } from '@corbel/testing';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

runIdempotencyConformance('sqlite', {
  durable: true,
  create: async ({ ttlMs }) => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-idem-'));
    const open = () => openSqliteStore({ dataDir: dir, idempotencyTtlMs: ttlMs });
    let store: SqliteStore = open();
    return {
      store: store.idempotency,
      reopen: async () => {
        await store.log.close();
        store = open();
        return store.idempotency;
      },
      cleanup: async () => {
        await store.log.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
