import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConsumerConformance } from '@corbel/testing';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

runConsumerConformance('sqlite', {
  durable: true,
  create: async ({ ttlMs }) => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-consumers-'));
    const open = () => openSqliteStore({ dataDir: dir, consumerTtlMs: ttlMs });
    let store: SqliteStore = open();
    return {
      positions: store.consumers,
      reopen: async () => {
        await store.log.close();
        store = open();
        return store.consumers;
      },
      cleanup: async () => {
        await store.log.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
