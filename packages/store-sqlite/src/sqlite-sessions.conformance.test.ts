import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSessionConformance } from '@corbel/testing';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

runSessionConformance('sqlite', {
  durable: true,
  create: async ({ ttlMs }) => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-sessions-'));
    const open = () => openSqliteStore({ dataDir: dir, sessionTtlMs: ttlMs });
    let store: SqliteStore = open();
    return {
      sessions: store.sessions,
      reopen: async () => {
        await store.log.close();
        store = open();
        return store.sessions;
      },
      cleanup: async () => {
        await store.log.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
