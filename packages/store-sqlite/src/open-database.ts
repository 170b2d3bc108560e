import { existsSync, linkSync, rmSync, statSync } from 'node:fs';
import { newEpoch } from '@corbel/core/internal';
import Database from 'better-sqlite3';
import { corruptError, lockedError, toCorbelError } from './sqlite-errors.js';

/**
 * How hard SQLite works to keep a commit (PRAGMA synchronous, in WAL mode):
 * - `NORMAL` (default): a commit is written to the WAL before `publish`
 *   resolves, so it survives the process crashing or being killed; a power
 *   loss or OS crash may lose the last commits (never corrupt the file).
 * - `FULL`: the WAL is also fsync'ed on every commit, so acknowledged events
 *   survive power loss too, at a much lower publish rate.
 * - `EXTRA`: FULL plus a directory sync; for file systems that need it.
 */
export type SqliteSynchronous = 'NORMAL' | 'FULL' | 'EXTRA';

export interface OpenDatabaseOptions {
  synchronous?: SqliteSynchronous | undefined;
  /** How long to wait for a lock held by another process before failing with STORE_LOCKED (default 250 ms). */
  lockTimeoutMs?: number | undefined;
  /** Run `PRAGMA quick_check` at open, so a damaged file stops start-up (default true). */
  checkIntegrity?: boolean | undefined;
}

export interface OpenedDatabase {
  db: Database.Database;
  file: string;
  /** The log's epoch, fixed when the file was created. */
  epoch: string;
}

const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS corbel_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS corbel_events (
  channel TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  payload TEXT    NOT NULL,
  PRIMARY KEY (channel, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS corbel_channels (
  channel   TEXT    PRIMARY KEY,
  first_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS corbel_sessions (
  id         TEXT    PRIMARY KEY,
  owner      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  ttl_ms     INTEGER NOT NULL,
  data       TEXT    NOT NULL
) WITHOUT ROWID;
`;

/**
 * Opens (or creates) a Corbel SQLite file: WAL, an exclusive lock held for the
 * life of the connection (a second process on the same file gets
 * STORE_LOCKED), an integrity check, and the schema. Never starts silently
 * empty on a file that held something else.
 *
 * @example
 * const { db, epoch } = openDatabase('/var/lib/station/events.db', { synchronous: 'FULL' });
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): OpenedDatabase {
  const synchronous = opts.synchronous ?? 'NORMAL';
  if (!['NORMAL', 'FULL', 'EXTRA'].includes(synchronous)) {
    throw new RangeError(`synchronous must be NORMAL, FULL or EXTRA, got ${String(synchronous)}`);
  }
  if (!existsSync(file)) createFile(file);
  // A zero-byte file is not a fresh store: SQLite would happily treat it as an
  // empty database, and we would start with no history without saying so.
  if (existsSync(file) && statSync(file).size === 0 && walSize(file) === 0) {
    throw corruptError(file, 'the file is empty (0 bytes), it may have been truncated');
  }
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: opts.lockTimeoutMs ?? 250 });
  } catch (error) {
    throw toCorbelError(error, file, 'open');
  }
  try {
    // EXCLUSIVE before WAL: the connection then holds its lock until closed, so
    // a second station on the same file fails now instead of interleaving ids.
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw lockedError(file);
    db.exec('BEGIN IMMEDIATE; COMMIT');
    db.pragma(`synchronous = ${synchronous}`);
    if (opts.checkIntegrity ?? true) {
      const result = db.pragma('quick_check(1)', { simple: true });
      if (result !== 'ok') throw corruptError(file, `integrity check: ${String(result)}`);
    }
    const epoch = migrate(db, file);
    return { db, file, epoch };
  } catch (error) {
    try {
      db.close();
    } catch {
      // Already failing; the original error is the one to report.
    }
    throw toCorbelError(error, file, 'open');
  }
}

/**
 * Creates a new store under a temporary name and links it into place only once
 * its schema is written, so a crash during creation never leaves a half-made
 * (or zero-byte) events.db behind. `link` fails if another process won the
 * race; then its file is used (and its lock decides who runs).
 */
function createFile(file: string) {
  const temp = `${file}.creating-${process.pid}`;
  try {
    const db = new Database(temp);
    try {
      db.pragma('journal_mode = WAL');
      migrate(db, temp);
    } finally {
      db.close();
    }
    try {
      linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } catch (error) {
    throw toCorbelError(error, file, 'open');
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${temp}${suffix}`, { force: true });
  }
}

/** Creates the schema on a new file, or checks an existing one is ours; returns the epoch. */
function migrate(db: Database.Database, file: string): string {
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
    .pluck()
    .all() as string[];
  const ours = tables.filter((t) => t.startsWith('corbel_'));
  if (tables.length > 0 && !tables.includes('corbel_meta')) {
    throw corruptError(
      file,
      `it is a SQLite database but not a Corbel event store (tables: ${tables.join(', ')})`,
    );
  }
  if (ours.length > 0) {
    const version = metaValue(db, 'schema_version');
    const epoch = metaValue(db, 'epoch');
    if (!epoch || !/^[0-9a-f]{8}$/.test(epoch)) throw corruptError(file, 'its epoch record is missing');
    if (version !== SCHEMA_VERSION) {
      throw corruptError(file, `schema version ${version ?? 'missing'}, this build reads ${SCHEMA_VERSION}`);
    }
    db.exec(SCHEMA);
    return epoch;
  }
  const epoch = newEpoch();
  db.transaction(() => {
    db.exec(SCHEMA);
    const put = db.prepare('INSERT INTO corbel_meta (key, value) VALUES (?, ?)');
    put.run('schema_version', SCHEMA_VERSION);
    put.run('epoch', epoch);
  })();
  return epoch;
}

function metaValue(db: Database.Database, key: string): string | undefined {
  return db.prepare('SELECT value FROM corbel_meta WHERE key = ?').pluck().get(key) as string | undefined;
}

function walSize(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}
