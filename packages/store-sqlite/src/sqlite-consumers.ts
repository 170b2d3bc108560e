import {
  type ConsumerPosition,
  type ConsumerPositions,
  DEFAULT_CONSUMER_TOMBSTONE_MS,
  DEFAULT_CONSUMER_TTL_MS,
} from '@corbel/core';
import type { OpenedDatabase } from './open-database.js';
import { sqliteGuard } from './sqlite-errors.js';

export interface SqliteConsumersOptions {
  /** Idle time after which a durable consumer expires (default 24 hours). */
  ttlMs?: number | undefined;
}

// Created on first use beside the event tables: older builds ignore it, so
// the file's schema version does not change.
const TABLE = `
CREATE TABLE IF NOT EXISTS corbel_consumers (
  key        TEXT    PRIMARY KEY,
  acked      TEXT    NOT NULL,
  delivered  TEXT    NOT NULL,
  last_seen  INTEGER NOT NULL,
  ttl_ms     INTEGER NOT NULL
) WITHOUT ROWID;
`;

interface Row {
  key: string;
  acked: string;
  delivered: string;
  last_seen: number;
  ttl_ms: number;
}

/**
 * Durable consumers' positions in the store's SQLite file, so a consumer
 * resumes after what it acknowledged across restarts of the server. Expired
 * positions are kept (as tombstones) for 7 more days, then deleted when the
 * store opens.
 *
 * @example
 * const store = openSqliteStore({ dataDir: './data' });
 * const consumers = createDurableConsumers({ hub, positions: store.consumers });
 */
export function createSqliteConsumersOn(
  opened: OpenedDatabase,
  opts: SqliteConsumersOptions = {},
): ConsumerPositions {
  const { db, file } = opened;
  const ttlMs = opts.ttlMs ?? DEFAULT_CONSUMER_TTL_MS;
  const guard = sqliteGuard(db, file, 'consumers');
  guard(() => {
    db.exec(TABLE);
    db.prepare('DELETE FROM corbel_consumers WHERE last_seen + ttl_ms + ? <= ?').run(
      DEFAULT_CONSUMER_TOMBSTONE_MS,
      Date.now(),
    );
  });
  const stmt = {
    get: db.prepare('SELECT key, acked, delivered, last_seen, ttl_ms FROM corbel_consumers WHERE key = ?'),
    put: db.prepare(
      'INSERT OR REPLACE INTO corbel_consumers (key, acked, delivered, last_seen, ttl_ms) VALUES (?, ?, ?, ?, ?)',
    ),
    remove: db.prepare('DELETE FROM corbel_consumers WHERE key = ?'),
  };
  const position = (row: Row): ConsumerPosition => ({
    key: row.key,
    acked: row.acked,
    delivered: row.delivered,
    lastSeenAt: row.last_seen,
    expiresAt: row.last_seen + row.ttl_ms,
  });
  return {
    kind: 'sqlite',
    ttlMs,
    async get(key) {
      return guard(() => {
        const row = stmt.get.get(key) as Row | undefined;
        return row ? position(row) : null;
      });
    },
    async save(key, { acked, delivered }) {
      return guard(() => {
        const row: Row = { key, acked, delivered, last_seen: Date.now(), ttl_ms: ttlMs };
        stmt.put.run(row.key, row.acked, row.delivered, row.last_seen, row.ttl_ms);
        return position(row);
      });
    },
    async delete(key) {
      guard(() => stmt.remove.run(key));
    },
    // The file is locked to one process (STORE_LOCKED), so there is one instance to claim for.
    async claim(_key, instance, leaseMs) {
      return guard(() => ({ holder: instance, expiresAt: Date.now() + leaseMs }));
    },
    async release() {
      guard(() => {});
    },
  };
}
