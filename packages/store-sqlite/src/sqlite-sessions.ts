import {
  isSessionId,
  newSessionId,
  type SessionInfo,
  type SessionRegistry,
  sessionChannelName,
} from '@corbel/core';
import type { OpenedDatabase } from './open-database.js';
import { sqliteGuard } from './sqlite-errors.js';

export interface SqliteSessionsOptions {
  /** Idle time after which a session expires (default 30 minutes). */
  ttlMs?: number | undefined;
}

interface Row {
  id: string;
  owner: string;
  created_at: number;
  last_seen: number;
  ttl_ms: number;
  data: string;
}

/**
 * Sessions stored in the same SQLite file as the events, so a session (and its
 * private channel's history) survives a restart of the server. Sweeping an
 * expired session also deletes its private events.
 *
 * @example
 * const store = openSqliteStore({ dataDir: './data', sessionTtlMs: 600_000 });
 * const session = await store.sessions.open('alice');
 */
export function createSqliteSessionsOn(
  opened: OpenedDatabase,
  opts: SqliteSessionsOptions = {},
): SessionRegistry {
  const { db, file } = opened;
  const ttlMs = opts.ttlMs ?? 30 * 60_000;
  const stmt = {
    insert: db.prepare(
      'INSERT INTO corbel_sessions (id, owner, created_at, last_seen, ttl_ms, data) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare('SELECT * FROM corbel_sessions WHERE id = ? AND last_seen + ttl_ms > ?'),
    touch: db.prepare('UPDATE corbel_sessions SET last_seen = ?, data = ? WHERE id = ?'),
    list: db.prepare('SELECT * FROM corbel_sessions WHERE last_seen + ttl_ms > ? ORDER BY created_at'),
    expired: db.prepare('SELECT id FROM corbel_sessions WHERE last_seen + ttl_ms <= ?').pluck(),
    remove: db.prepare('DELETE FROM corbel_sessions WHERE id = ?'),
    dropEvents: db.prepare('DELETE FROM corbel_events WHERE channel = ?'),
  };
  const info = (row: Row): SessionInfo => ({
    id: row.id,
    owner: row.owner,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen,
    expiresAt: row.last_seen + row.ttl_ms,
    data: JSON.parse(row.data) as Record<string, unknown>,
  });
  const guard = sqliteGuard(db, file, 'sessions');
  const removeAll = db.transaction((ids: string[]) => {
    for (const id of ids) {
      stmt.remove.run(id);
      stmt.dropEvents.run(sessionChannelName(id));
    }
  });

  return {
    kind: 'sqlite',
    ttlMs,
    async open(owner, data = {}) {
      return guard(() => {
        const now = Date.now();
        const row: Row = {
          id: newSessionId(),
          owner,
          created_at: now,
          last_seen: now,
          ttl_ms: ttlMs,
          data: JSON.stringify(data),
        };
        stmt.insert.run(row.id, row.owner, row.created_at, row.last_seen, row.ttl_ms, row.data);
        return info(row);
      });
    },
    async get(id) {
      if (!isSessionId(id)) return null;
      return guard(() => {
        const row = stmt.get.get(id, Date.now()) as Row | undefined;
        return row ? info(row) : null;
      });
    },
    async touch(id, data) {
      if (!isSessionId(id)) return null;
      return guard(() => {
        const now = Date.now();
        const row = stmt.get.get(id, now) as Row | undefined;
        if (!row) return null;
        const merged = data ? JSON.stringify({ ...JSON.parse(row.data), ...data }) : row.data;
        stmt.touch.run(now, merged, id);
        return info({ ...row, last_seen: now, data: merged });
      });
    },
    async list() {
      return guard(() => (stmt.list.all(Date.now()) as Row[]).map(info));
    },
    async end(id) {
      if (!isSessionId(id)) return;
      guard(() => removeAll([id]));
    },
    async sweep() {
      return guard(() => {
        const ids = stmt.expired.all(Date.now()) as string[];
        if (ids.length > 0) removeAll(ids);
        return ids;
      });
    },
  };
}
