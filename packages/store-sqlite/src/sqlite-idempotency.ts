import {
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyStore,
  newClaimToken,
  type RecordedResponse,
} from '@corbel/core';
import type { OpenedDatabase } from './open-database.js';
import { sqliteGuard } from './sqlite-errors.js';

export interface SqliteIdempotencyOptions {
  /** How long a done record is kept (default 24 h). */
  ttlMs?: number | undefined;
  /** Most records kept; past it the oldest are deleted (default 100,000). */
  maxRecords?: number | undefined;
}

// Created on first use beside the event tables: older builds ignore it, so
// the file's schema version does not change.
const TABLE = `
CREATE TABLE IF NOT EXISTS corbel_idempotency (
  scope       TEXT    PRIMARY KEY,
  fingerprint TEXT    NOT NULL,
  token       TEXT,
  status      INTEGER,
  body        TEXT,
  until       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS corbel_idempotency_until ON corbel_idempotency (until);
`;

interface Row {
  fingerprint: string;
  token: string | null;
  status: number | null;
  body: string | null;
  until: number;
}

/** Sweep expired records and the excess every this many completions. */
const SWEEP_EVERY = 256;

/**
 * Idempotency records in the store's SQLite file, so a repeat after a
 * restart of the server gets the recorded response instead of running the
 * procedure again. A pending record (`token` set) holds a lease until
 * `until`; a done one (`status`, `body`) is kept until `until` (its TTL).
 * Claims run in an IMMEDIATE transaction; the file belongs to one process
 * at a time, so pending claims found when it opens are from a dead process
 * and are freed at once.
 *
 * @example
 * const store = openSqliteStore({ dataDir: './data' });
 * const server = createCorbelServer({ router, idempotency: store.idempotency });
 */
export function createSqliteIdempotencyOn(
  opened: OpenedDatabase,
  opts: SqliteIdempotencyOptions = {},
): IdempotencyStore {
  const { db, file } = opened;
  const ttlMs = opts.ttlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs;
  const maxRecords = opts.maxRecords ?? IDEMPOTENCY_DEFAULTS.maxRecords;
  const guard = sqliteGuard(db, file, 'idempotency');
  guard(() => {
    db.exec(TABLE);
    // The file is locked to one process (STORE_LOCKED otherwise), so a pending
    // claim found at open belongs to a process that died mid-run: free it now
    // rather than make retries wait out its lease.
    db.prepare('DELETE FROM corbel_idempotency WHERE token IS NOT NULL').run();
  });
  const stmt = {
    get: db.prepare('SELECT fingerprint, token, status, body, until FROM corbel_idempotency WHERE scope = ?'),
    put: db.prepare(
      'INSERT OR REPLACE INTO corbel_idempotency (scope, fingerprint, token, status, body, until) VALUES (?, ?, ?, NULL, NULL, ?)',
    ),
    done: db.prepare(
      'UPDATE corbel_idempotency SET token = NULL, status = ?, body = ?, until = ? WHERE scope = ? AND token = ?',
    ),
    release: db.prepare('DELETE FROM corbel_idempotency WHERE scope = ? AND token = ?'),
    expire: db.prepare('DELETE FROM corbel_idempotency WHERE until <= ?'),
    count: db.prepare('SELECT count(*) FROM corbel_idempotency').pluck(),
    trim: db.prepare(
      'DELETE FROM corbel_idempotency WHERE scope IN (SELECT scope FROM corbel_idempotency ORDER BY until LIMIT ?)',
    ),
  };
  const claim = db.transaction((scope: string, fingerprint: string, leaseMs: number) => {
    const now = Date.now();
    const row = stmt.get.get(scope) as Row | undefined;
    if (!row || row.until <= now) {
      const token = newClaimToken();
      stmt.put.run(scope, fingerprint, token, now + leaseMs);
      return { state: 'claimed', token } as const;
    }
    if (row.fingerprint !== fingerprint) return { state: 'mismatch' } as const;
    if (row.token !== null) return { state: 'pending' } as const;
    return { state: 'done', response: { status: row.status!, body: row.body! } } as const;
  });
  const sweep = db.transaction(() => {
    stmt.expire.run(Date.now());
    const excess = (stmt.count.get() as number) - maxRecords;
    if (excess > 0) stmt.trim.run(excess);
  });
  let completions = 0;

  return {
    kind: 'sqlite',
    ttlMs,
    async claim(scope, fingerprint, leaseMs) {
      return guard(() => claim.immediate(scope, fingerprint, leaseMs));
    },
    async complete(scope, token, response: RecordedResponse) {
      return guard(() => {
        const changed = stmt.done.run(
          response.status,
          response.body,
          Date.now() + ttlMs,
          scope,
          token,
        ).changes;
        if (++completions % SWEEP_EVERY === 0) sweep();
        return changed === 1;
      });
    },
    async release(scope, token) {
      guard(() => stmt.release.run(scope, token));
    },
  };
}
