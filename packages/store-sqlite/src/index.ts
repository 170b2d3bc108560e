export {
  type OpenDatabaseOptions,
  type OpenedDatabase,
  openDatabase,
  type SqliteSynchronous,
} from './open-database.js';
export { corruptError, lockedError, sqliteCodeOf, translateSqliteError } from './sqlite-errors.js';
export { createSqliteIdempotencyOn, type SqliteIdempotencyOptions } from './sqlite-idempotency.js';
export { createSqliteLogOn, type SqliteLog, type SqliteLogOptions } from './sqlite-log.js';
export { createSqliteSessionsOn, type SqliteSessionsOptions } from './sqlite-sessions.js';
export {
  createSqliteLog,
  openSqliteStore,
  SQLITE_FILE_NAME,
  type SqliteStore,
  type SqliteStoreOptions,
  sqliteFileOf,
} from './sqlite-store.js';
