import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConsumerPositions, IdempotencyStore, SessionRegistry } from '@corbel/core';
import { type OpenDatabaseOptions, openDatabase } from './open-database.js';
import { createSqliteConsumersOn } from './sqlite-consumers.js';
import { createSqliteIdempotencyOn } from './sqlite-idempotency.js';
import { createSqliteLogOn, type SqliteLog, type SqliteLogOptions } from './sqlite-log.js';
import { createSqliteSessionsOn } from './sqlite-sessions.js';

export interface SqliteStoreOptions extends OpenDatabaseOptions, SqliteLogOptions {
  /** Idle time after which a session expires (default 30 minutes). */
  sessionTtlMs?: number | undefined;
  /** The database file; or give `dataDir` and the file is `<dataDir>/events.db`. */
  file?: string | undefined;
  /** A data directory (created if missing) holding `events.db`. */
  dataDir?: string | undefined;
  /** How long idempotency records are kept (default 24 h). */
  idempotencyTtlMs?: number | undefined;
  /** Idle time after which a durable consumer expires (default 24 hours). */
  consumerTtlMs?: number | undefined;
}

/** The file name a store uses inside a data directory. */
export const SQLITE_FILE_NAME = 'events.db';

export interface SqliteStore {
  readonly file: string;
  /** The event log; closing it closes the file (and so the sessions). */
  readonly log: SqliteLog;
  /** Sessions, stored in the same file as the events. */
  readonly sessions: SessionRegistry;
  /** Idempotency records (the server's `idempotency` option), in the same file. */
  readonly idempotency: IdempotencyStore;
  /** Durable consumers' positions, in the same file. */
  readonly consumers: ConsumerPositions;
}

/**
 * Opens the SQLite store: the event log and the session registry in one file
 * (one connection, one lock). Closing the log closes both.
 *
 * @example
 * const store = openSqliteStore({ dataDir: './data' });
 * const hub = createHub({ log: store.log });
 */
export function openSqliteStore(opts: SqliteStoreOptions): SqliteStore {
  const file = sqliteFileOf(opts);
  const opened = openDatabase(file, opts);
  return {
    file,
    log: createSqliteLogOn(opened, opts),
    sessions: createSqliteSessionsOn(opened, { ttlMs: opts.sessionTtlMs }),
    idempotency: createSqliteIdempotencyOn(opened, { ttlMs: opts.idempotencyTtlMs }),
    consumers: createSqliteConsumersOn(opened, { ttlMs: opts.consumerTtlMs }),
  };
}

/**
 * Opens the durable SQLite event log: a file in a data directory, zero setup.
 * Start-up fails with STORE_LOCKED (another process has the file) or
 * STORE_CORRUPT (a damaged or foreign file), each naming the file and what to
 * do, instead of starting with an empty history.
 *
 * @example
 * const log = createSqliteLog({ dataDir: './data', synchronous: 'FULL', retention: { maxCount: 50_000 } });
 * const hub = createHub({ log });
 */
export function createSqliteLog(opts: SqliteStoreOptions): SqliteLog {
  return openSqliteStore(opts).log;
}

/** Resolves the database path from `file` or `dataDir`, creating the directory. */
export function sqliteFileOf(opts: { file?: string | undefined; dataDir?: string | undefined }): string {
  if (opts.file) return resolve(opts.file);
  if (!opts.dataDir) throw new TypeError('give the SQLite store a file or a dataDir');
  mkdirSync(opts.dataDir, { recursive: true });
  return resolve(join(opts.dataDir, SQLITE_FILE_NAME));
}
