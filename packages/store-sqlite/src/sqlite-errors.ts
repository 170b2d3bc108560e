import { CorbelError } from '@corbel/core';

/**
 * The one place where better-sqlite3 / SQLite errors become CorbelErrors.
 * Messages name the file and say what to do, because an operator reads them
 * at start-up, not a developer in a debugger.
 */

/** What the store was doing when SQLite failed: the same code means different things. */
export type SqlitePhase = 'open' | 'append' | 'read' | 'trim' | 'sessions' | 'idempotency' | 'consumers';

const LOCKED = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY']);
const CORRUPT = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT_VTAB',
  'SQLITE_CORRUPT_SEQUENCE',
]);

/** The SQLite result code of a better-sqlite3 error (e.g. "SQLITE_BUSY"), if any. */
export function sqliteCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** A STORE_LOCKED error for `file`. */
export function lockedError(file: string, cause?: unknown): CorbelError {
  return new CorbelError(
    'STORE_LOCKED',
    `event store ${file} is in use by another process (is another station running with the same --data directory?). ` +
      'Stop that process, or start this one with a different --data directory.',
    { cause },
  );
}

/** A STORE_CORRUPT error for `file`, with why. */
export function corruptError(file: string, why: string, cause?: unknown): CorbelError {
  return new CorbelError(
    'STORE_CORRUPT',
    `event store ${file} is damaged (${why}); refusing to start on it rather than losing history silently. ` +
      'Restore it from a backup, or move it aside to start with an empty history ' +
      '(clients resuming from old ids will then be told their history is gone).',
    { cause },
  );
}

/**
 * Translates anything thrown by better-sqlite3 into a CorbelError. CorbelErrors
 * pass through unchanged.
 *
 * @example
 * try { insert.run(row); } catch (e) { throw toCorbelError(e, file, 'append'); }
 */
export function toCorbelError(error: unknown, file: string, phase: SqlitePhase): CorbelError {
  const existing = CorbelError.find(error);
  if (existing) return existing;
  const code = sqliteCodeOf(error) ?? '';
  const detail = error instanceof Error ? error.message : String(error);
  if (CORRUPT.has(code) || code.startsWith('SQLITE_CORRUPT')) return corruptError(file, detail, error);
  if (LOCKED.has(code)) {
    if (phase === 'open') return lockedError(file, error);
    return new CorbelError('STORE_UNAVAILABLE', `event store ${file} is busy (${detail}); retry`, {
      cause: error,
    });
  }
  if (
    code === 'SQLITE_CANTOPEN' ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_READONLY' ||
    code.startsWith('SQLITE_READONLY')
  ) {
    return new CorbelError(
      'STORE_UNAVAILABLE',
      `event store ${file} cannot be opened for writing (${detail}); check that the --data directory exists and is writable`,
      { cause: error },
    );
  }
  if (code === 'SQLITE_FULL') {
    return new CorbelError('STORE_UNAVAILABLE', `event store ${file}: the disk is full; nothing was stored`, {
      cause: error,
    });
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new CorbelError(
      'STORE_UNAVAILABLE',
      `event store ${file}: I/O error (${detail}); nothing was stored`,
      {
        cause: error,
      },
    );
  }
  if (/database connection is not open/i.test(detail)) {
    return new CorbelError('CLOSED', `event store ${file} is closed`, { cause: error });
  }
  return new CorbelError('STORE_UNAVAILABLE', `event store ${file}: ${phase} failed (${detail})`, {
    cause: error,
  });
}

/**
 * A runner for one piece of the store (`what`: 'sessions', 'idempotency',
 * 'consumers') on an opened file: CLOSED once the file is closed, and every
 * driver error translated by `toCorbelError`.
 *
 * @example
 * const guard = sqliteGuard(db, file, 'consumers');
 * const row = guard(() => db.prepare('SELECT 1').get());
 */
export function sqliteGuard(
  db: { readonly open: boolean },
  file: string,
  what: 'sessions' | 'idempotency' | 'consumers',
): <T>(fn: () => T) => T {
  return (fn) => {
    if (!db.open) throw new CorbelError('CLOSED', `the ${what} store ${file} is closed`);
    try {
      return fn();
    } catch (error) {
      throw toCorbelError(error, file, what);
    }
  };
}
