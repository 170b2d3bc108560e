import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLog } from '@corbel/core';
import { runStoreConformance } from '@corbel/testing';
import { createSqliteLog } from './sqlite-store.js';

runStoreConformance('sqlite', {
  durable: true,
  create: async ({ retention }) => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-sqlite-'));
    const open = () => createSqliteLog({ dataDir: dir, retention, trimIntervalMs: 50 });
    let log: EventLog = open();
    return {
      log,
      reopen: async () => {
        await log.close();
        log = open();
        return log;
      },
      cleanup: async () => {
        await log.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
