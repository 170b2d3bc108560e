/**
 * `@corbel/store-sqlite`: the durable embedded store. `openSqliteStore` opens
 * one file holding the event log, sessions and idempotency records; the
 * pieces that share its connection stay inside the package.
 */
export type { OpenDatabaseOptions, SqliteSynchronous } from './open-database.js';
export type { SqliteConsumersOptions } from './sqlite-consumers.js';
export type { SqliteIdempotencyOptions } from './sqlite-idempotency.js';
export type { SqliteLog, SqliteLogOptions } from './sqlite-log.js';
export type { SqliteSessionsOptions } from './sqlite-sessions.js';
export {
  createSqliteLog,
  openSqliteStore,
  SQLITE_FILE_NAME,
  type SqliteStore,
  type SqliteStoreOptions,
  sqliteFileOf,
} from './sqlite-store.js';
