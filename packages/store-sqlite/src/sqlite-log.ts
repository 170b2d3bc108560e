import {
  type AppendOnceResult,
  CorbelError,
  type EventLog,
  IDEMPOTENCY_DEFAULTS,
  type ReadOptions,
  type Retention,
  type StoredEvent,
} from '@corbel/core';
import { formatSeqId, parseResumeId, parseSeqId } from '@corbel/core/internal';
import type Database from 'better-sqlite3';
import superjson from 'superjson';
import type { OpenedDatabase } from './open-database.js';
import { toCorbelError } from './sqlite-errors.js';

export interface SqliteLogOptions {
  /** Retention per channel; default keeps the newest 100,000 events of each channel. */
  retention?: Retention | undefined;
  /** Overrides retention for single channels, by name. */
  channels?: Record<string, Retention> | undefined;
  /** How often expired events are deleted in the background (default 1 s). */
  trimIntervalMs?: number | undefined;
  /** Rows deleted per trim transaction, so a big trim never stalls publishes (default 2,000). */
  trimBatch?: number | undefined;
}

interface ChannelState {
  /** Newest sequence ever appended (never goes back, even when everything is trimmed). */
  head: number;
  /** Oldest sequence physically kept (trims move it forward; persisted in corbel_channels). */
  first: number;
}

/** A SQLite event log on an opened database; `createSqliteLog` / `openSqliteStore` build it. */
export interface SqliteLog extends EventLog {
  readonly epoch: string;
  readonly file: string;
  /** Deletes expired events now (the background timer does this on its own). */
  trim(): Promise<void>;
}

const DEFAULT_RETENTION: Retention = { maxCount: 100_000 };

interface Appending {
  channel: string;
  payload: unknown;
  at: number;
  encoded: string;
  /** A publish key (appendOnce) and when its record expires. */
  key?: string | undefined;
  keyUntil?: number | undefined;
}

/** Where an item of a commit ended up: appended, or the event its key already named. */
interface Committed {
  channel: string;
  seq: number;
  at: number;
  duplicate: boolean;
}

// Publish keys (appendOnce) → the event they stored, committed in the same
// transaction as the event. Created on first use beside the event tables:
// older builds ignore it, so the file's schema version does not change.
const KEYS_TABLE = `
CREATE TABLE IF NOT EXISTS corbel_publish_keys (
  key     TEXT    PRIMARY KEY,
  channel TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  until   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS corbel_publish_keys_until ON corbel_publish_keys (until);
`;

/**
 * The SQLite `EventLog`: every append is its own committed transaction before
 * it resolves, ids are `<epoch>-<seq>` per channel with the epoch stored in
 * the file, retention runs in small background batches, and reads are pages.
 *
 * better-sqlite3 is synchronous: a lone append is committed before `append`
 * returns; appends made in the same turn of the event loop after it are
 * committed together in one transaction at the end of that turn (group
 * commit, one fsync with synchronous=FULL) and resolve in id order, which is
 * what the hub's fan-out needs. Nothing resolves before it is committed.
 *
 * @example
 * const log = createSqliteLogOn(db, { retention: { maxAgeMs: 86_400_000 } });
 */
export function createSqliteLogOn(opened: OpenedDatabase, opts: SqliteLogOptions = {}): SqliteLog {
  const { db, file, epoch } = opened;
  const trimBatch = opts.trimBatch ?? 2_000;
  let closed = false;

  const retentionOf = (channel: string): Retention =>
    opts.channels?.[channel] ?? opts.retention ?? DEFAULT_RETENTION;

  try {
    db.exec(KEYS_TABLE);
  } catch (error) {
    throw toCorbelError(error, file, 'open');
  }
  const stmt = {
    getKey: db.prepare('SELECT channel, seq, at FROM corbel_publish_keys WHERE key = ? AND until > ?'),
    putKey: db.prepare(
      'INSERT OR REPLACE INTO corbel_publish_keys (key, channel, seq, at, until) VALUES (?, ?, ?, ?, ?)',
    ),
    getOne: db.prepare('SELECT payload FROM corbel_events WHERE channel = ? AND seq = ?').pluck(),
    expireKeys: db.prepare(
      'DELETE FROM corbel_publish_keys WHERE key IN (SELECT key FROM corbel_publish_keys WHERE until <= ? LIMIT ?)',
    ),
    countKeys: db.prepare('SELECT count(*) FROM corbel_publish_keys').pluck(),
    trimKeys: db.prepare(
      'DELETE FROM corbel_publish_keys WHERE key IN (SELECT key FROM corbel_publish_keys ORDER BY until LIMIT ?)',
    ),
    insert: db.prepare('INSERT INTO corbel_events (channel, seq, at, payload) VALUES (?, ?, ?, ?)'),
    page: db.prepare(
      'SELECT seq, at, payload FROM corbel_events WHERE channel = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    firstFresh: db
      .prepare(
        'SELECT seq FROM corbel_events WHERE channel = ? AND seq >= ? AND at >= ? ORDER BY seq LIMIT 1',
      )
      .pluck(),
    addChannel: db.prepare('INSERT OR IGNORE INTO corbel_channels (channel, first_seq) VALUES (?, 1)'),
    setFirst: db.prepare('UPDATE corbel_channels SET first_seq = ? WHERE channel = ? AND first_seq < ?'),
    deleteRange: db.prepare('DELETE FROM corbel_events WHERE channel = ? AND seq >= ? AND seq < ?'),
  };

  // Heads are cached: the exclusive lock means no other process appends.
  const channels = new Map<string, ChannelState>();
  try {
    const firsts = db.prepare('SELECT channel, first_seq AS first FROM corbel_channels').all() as {
      channel: string;
      first: number;
    }[];
    const heads = db
      .prepare('SELECT channel, max(seq) AS head FROM corbel_events GROUP BY channel')
      .all() as {
      channel: string;
      head: number;
    }[];
    for (const { channel, first } of firsts) channels.set(channel, { head: first - 1, first });
    for (const { channel, head } of heads) {
      const s = channels.get(channel) ?? { head: 0, first: 1 };
      s.head = Math.max(s.head, head);
      channels.set(channel, s);
    }
  } catch (error) {
    throw toCorbelError(error, file, 'open');
  }

  const assertOpen = () => {
    if (closed) throw new CorbelError('CLOSED', `event store ${file} is closed`);
  };

  /** The oldest sequence a reader may see now, applying retention logically (before the trimmer runs). */
  const firstVisible = (channel: string, s: ChannelState, now: number): number => {
    const { maxCount, maxAgeMs } = retentionOf(channel);
    let first = s.first;
    if (maxCount !== undefined) first = Math.max(first, s.head - maxCount + 1);
    if (maxAgeMs !== undefined) {
      const fresh = stmt.firstFresh.get(channel, first, now - maxAgeMs) as number | undefined;
      first = fresh ?? s.head + 1;
    }
    return first;
  };

  /** The sequence to read after; validates the id against epoch, head and retention. */
  const startSeq = (channel: string, after: string | undefined): number => {
    const s = channels.get(channel) ?? { head: 0, first: 1 };
    const first = firstVisible(channel, s, Date.now());
    if (after === undefined) return first - 1;
    const seq = parseResumeId(after, epoch, channel);
    if (seq > s.head) {
      throw new CorbelError(
        'INVALID_EVENT_ID',
        `event ${after} has not been published on channel ${channel}`,
      );
    }
    if (seq < first - 1) {
      throw new CorbelError(
        'HISTORY_GONE',
        `events after ${after} on channel ${channel} are no longer retained (oldest kept: ${formatSeqId(epoch, first)})`,
      );
    }
    return seq;
  };

  /** Deletes expired events of one channel, a batch per transaction, yielding between batches. */
  const trimChannel = async (channel: string) => {
    for (let rounds = 0; rounds < 10_000 && !closed; rounds++) {
      const s = channels.get(channel);
      if (!s) return;
      const target = firstVisible(channel, s, Date.now());
      if (target <= s.first) return;
      const upTo = Math.min(target, s.first + trimBatch);
      db.transaction(() => {
        stmt.deleteRange.run(channel, s.first, upTo);
        stmt.setFirst.run(upTo, channel, upTo);
      })();
      s.first = upTo;
      // Let publishes and reads run between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  let trimming: Promise<void> | null = null;
  const trimAll = (): Promise<void> => {
    if (trimming) return trimming;
    trimming = (async () => {
      try {
        for (const channel of [...channels.keys()]) await trimChannel(channel);
        if (keyedSinceSweep > 0) {
          keyedSinceSweep = 0;
          sweepKeys();
        }
      } catch (error) {
        // A failed trim only delays retention; the next round retries.
        if (!closed) lastTrimError = toCorbelError(error, file, 'trim');
      } finally {
        trimming = null;
      }
    })();
    return trimming;
  };
  let lastTrimError: CorbelError | undefined;
  let keyedSinceSweep = 0;
  /** Expired publish keys go, then the oldest past the bound (batches, like the event trim). */
  const sweepKeys = () => {
    if (closed) return;
    stmt.expireKeys.run(Date.now(), trimBatch);
    const excess = (stmt.countKeys.get() as number) - IDEMPOTENCY_DEFAULTS.maxRecords;
    if (excess > 0) stmt.trimKeys.run(Math.min(excess, trimBatch));
  };
  const timer = setInterval(() => void trimAll(), opts.trimIntervalMs ?? 1_000);
  timer.unref();

  /**
   * Commits `items` in one transaction (SQLite autocommit for one unkeyed
   * item) and only then advances the cached heads; returns where each went,
   * in order. A keyed item whose key is recorded appends nothing; otherwise
   * its key is recorded in the same transaction as its event.
   */
  const commit = (items: readonly Appending[]): Committed[] => {
    const added: string[] = [];
    const heads = new Map<string, number>();
    const out: Committed[] = [];
    const groupKeys = new Map<string, Committed>();
    const run = () => {
      const now = Date.now();
      for (const item of items) {
        if (item.key !== undefined) {
          const known =
            groupKeys.get(item.key) ??
            (stmt.getKey.get(item.key, now) as { channel: string; seq: number; at: number } | undefined);
          if (known) {
            out.push({ channel: known.channel, seq: known.seq, at: known.at, duplicate: true });
            continue;
          }
        }
        let s = channels.get(item.channel);
        if (!s) {
          stmt.addChannel.run(item.channel);
          s = { head: 0, first: 1 };
          channels.set(item.channel, s);
          added.push(item.channel);
        }
        const seq = (heads.get(item.channel) ?? s.head) + 1;
        heads.set(item.channel, seq);
        stmt.insert.run(item.channel, seq, item.at, item.encoded);
        const done = { channel: item.channel, seq, at: item.at, duplicate: false };
        if (item.key !== undefined) {
          stmt.putKey.run(item.key, item.channel, seq, item.at, item.keyUntil ?? now);
          groupKeys.set(item.key, done);
        }
        out.push(done);
      }
    };
    try {
      if (items.length === 1 && items[0]!.key === undefined) run();
      else db.transaction(run)();
    } catch (error) {
      for (const channel of added) channels.delete(channel);
      throw toCorbelError(error, file, 'append');
    }
    for (const [channel, head] of heads) {
      const s = channels.get(channel)!;
      s.head = head;
      const { maxCount } = retentionOf(channel);
      // A burst can outrun the timer; trim early once a channel is well over its bound.
      if (maxCount !== undefined && s.head - s.first + 1 > maxCount + Math.max(64, maxCount / 10)) {
        void trimAll();
      }
    }
    if (groupKeys.size > 0) keyedSinceSweep += groupKeys.size;
    return out;
  };

  // Group commit: appends made while one is already committed in the same turn
  // of the event loop wait for its end and commit together, then resolve in
  // id order. Nothing resolves before its transaction has committed.
  let groupOpen = false;
  let pending: (Appending & { resolve(result: AppendOnceResult): void; reject(error: unknown): void })[] = [];
  const flushGroup = () => {
    groupOpen = false;
    if (pending.length === 0 || !db.open) return;
    const group = pending;
    pending = [];
    let done: Committed[];
    try {
      done = commit(group);
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    for (const [i, p] of group.entries()) p.resolve(resultOf(p, done[i]!));
  };

  /** The event an item stands for: itself, or (a duplicate) the stored one its key names. */
  const resultOf = (item: Appending, c: Committed): AppendOnceResult => {
    if (!c.duplicate) {
      return {
        event: { id: formatSeqId(epoch, c.seq), channel: c.channel, payload: item.payload, at: c.at },
        duplicate: false,
      };
    }
    // The stored payload when still retained (a repeat's payload may differ, e.g. a fresh timestamp).
    const stored = stmt.getOne.get(c.channel, c.seq) as string | undefined;
    const payload = stored === undefined ? item.payload : superjson.parse(stored);
    return {
      event: { id: formatSeqId(epoch, c.seq), channel: c.channel, payload, at: c.at },
      duplicate: true,
    };
  };

  const enqueue = (item: Appending): AppendOnceResult | Promise<AppendOnceResult> => {
    assertOpen();
    if (groupOpen) {
      // Another append already committed in this turn of the event loop: join
      // the group that commits (one transaction, one fsync) at its end.
      return new Promise<AppendOnceResult>((resolve, reject) => pending.push({ ...item, resolve, reject }));
    }
    groupOpen = true;
    setImmediate(flushGroup);
    // Alone so far: commit now, so a lone publisher pays no extra latency.
    const [c] = commit([item]);
    return resultOf(item, c!);
  };

  const decode = (channel: string, row: { seq: number; at: number; payload: string }): StoredEvent => ({
    id: formatSeqId(epoch, row.seq),
    channel,
    payload: superjson.parse(row.payload),
    at: row.at,
  });

  return {
    kind: 'sqlite',
    epoch,
    file,

    async append(channel, payload) {
      assertOpen();
      const r = enqueue({ channel, payload, at: Date.now(), encoded: superjson.stringify(payload) });
      return r instanceof Promise ? r.then((x) => x.event) : r.event;
    },

    async appendOnce(channel, payload, key, ttlMs) {
      assertOpen();
      const at = Date.now();
      return enqueue({
        channel,
        payload,
        at,
        encoded: superjson.stringify(payload),
        key,
        keyUntil: at + ttlMs,
      });
    },

    async read(channel, { after, limit }: ReadOptions) {
      assertOpen();
      try {
        const from = startSeq(channel, after);
        const rows = stmt.page.all(channel, from, Math.max(0, Math.floor(limit))) as {
          seq: number;
          at: number;
          payload: string;
        }[];
        return rows.map((row) => decode(channel, row));
      } catch (error) {
        throw toCorbelError(error, file, 'read');
      }
    },

    async checkResumeId(channel, id) {
      assertOpen();
      try {
        startSeq(channel, id);
      } catch (error) {
        throw toCorbelError(error, file, 'read');
      }
    },

    compareIds(a, b) {
      const pa = parseSeqId(a);
      const pb = parseSeqId(b);
      if (!pa || !pb) throw new CorbelError('INVALID_EVENT_ID', 'cannot compare ids that are not event ids');
      return pa.seq - pb.seq;
    },

    async latestId(channel) {
      const s = channels.get(channel);
      return s && s.head > 0 ? formatSeqId(epoch, s.head) : null;
    },

    async ping() {
      assertOpen();
      if (lastTrimError) {
        const error = lastTrimError;
        lastTrimError = undefined;
        throw error;
      }
    },

    trim: () => {
      assertOpen();
      return trimAll();
    },

    async close() {
      if (closed) return;
      closed = true;
      // Appends accepted before close still commit (and resolve).
      flushGroup();
      clearInterval(timer);
      if (trimming) await trimming.catch(() => {});
      closeDatabase(db);
    },
  };
}

/** Closes the connection, checkpointing the WAL so the file is self-contained. */
function closeDatabase(db: Database.Database) {
  if (!db.open) return;
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // A failed checkpoint is harmless: the WAL is replayed at the next open.
  }
  db.close();
}
