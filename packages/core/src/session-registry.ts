import { randomBytes } from 'node:crypto';
import { CorbelError } from './errors.js';

/**
 * Sessions are the JSESSIONID of Corbel: an authenticated client opens one and
 * gets a 128-bit random id, keeps it across reconnects (and, with a durable
 * store, server restarts), and has a private channel only it can read. A
 * session expires after `ttlMs` without being seen.
 */
export interface SessionInfo {
  /** 32 lowercase hex characters (128 random bits); a bearer secret, never logged in full. */
  readonly id: string;
  /** The identity that opened it; only this identity may use it. */
  readonly owner: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** `lastSeenAt + ttlMs`: after this it is gone. */
  readonly expiresAt: number;
  /** Small app data kept with the session (JSON values). */
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * A live session as an operator sees it (`session.list`): no secret id,
 * just a short reference. The server answers with it, the CLI prints it.
 */
export interface LiveSession {
  ref: string;
  owner: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  /** Private-message streams open right now. */
  streams: number;
}

export interface SessionRegistry {
  /** "memory" or "sqlite". */
  readonly kind: string;
  /** Idle time after which a session expires. */
  readonly ttlMs: number;
  /** Opens a new session for `owner`. */
  open(owner: string, data?: Record<string, unknown>): Promise<SessionInfo>;
  /** The live session with this id, or null when unknown or expired. */
  get(id: string): Promise<SessionInfo | null>;
  /** Marks a live session as seen now (merging `data`); null when unknown or expired. */
  touch(id: string, data?: Record<string, unknown>): Promise<SessionInfo | null>;
  /** Every live session, oldest first. */
  list(): Promise<SessionInfo[]>;
  /** Ends a session now. */
  end(id: string): Promise<void>;
  /** Deletes expired sessions (and their private history); returns their ids. */
  sweep(): Promise<string[]>;
}

const SESSION_ID = /^[0-9a-f]{32}$/;

/** A fresh 128-bit random session id (32 hex characters). */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/** True when `id` has the shape of a session id (it may still be unknown). */
export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID.test(id);
}

/** The private channel of a session: only its owner may subscribe to it. */
export function sessionChannelName(id: string): string {
  if (!isSessionId(id)) throw new CorbelError('BAD_REQUEST', 'not a session id');
  return `corbel.session.${id}`;
}

/** A short, non-secret reference to a session for logs and operator lists. */
export function sessionRef(id: string): string {
  return id.slice(0, 8);
}

export interface MemorySessionsOptions {
  /** Idle time after which a session expires (default 30 minutes). */
  ttlMs?: number | undefined;
  /** Called with the ids `sweep` removed (e.g. to drop their private history). */
  onExpire?: ((ids: string[]) => void) | undefined;
}

/**
 * Sessions kept in memory: for tests and memory-log servers (they end with the
 * process, like the memory log's history).
 *
 * @example
 * const sessions = createMemorySessions({ ttlMs: 60_000 });
 * const { id } = await sessions.open('alice');
 */
export function createMemorySessions(opts: MemorySessionsOptions = {}): SessionRegistry {
  const ttlMs = opts.ttlMs ?? 30 * 60_000;
  const sessions = new Map<string, SessionInfo>();
  const live = (s: SessionInfo | undefined, now: number) => (s && s.expiresAt > now ? s : null);
  return {
    kind: 'memory',
    ttlMs,
    async open(owner, data = {}) {
      const now = Date.now();
      const s: SessionInfo = {
        id: newSessionId(),
        owner,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + ttlMs,
        data: { ...data },
      };
      sessions.set(s.id, s);
      return s;
    },
    async get(id) {
      return isSessionId(id) ? live(sessions.get(id), Date.now()) : null;
    },
    async touch(id, data) {
      const now = Date.now();
      const s = isSessionId(id) ? live(sessions.get(id), now) : null;
      if (!s) return null;
      const next = { ...s, lastSeenAt: now, expiresAt: now + ttlMs, data: { ...s.data, ...data } };
      sessions.set(id, next);
      return next;
    },
    async list() {
      const now = Date.now();
      return [...sessions.values()]
        .filter((s) => s.expiresAt > now)
        .sort((a, b) => a.createdAt - b.createdAt);
    },
    async end(id) {
      sessions.delete(id);
    },
    async sweep() {
      const now = Date.now();
      const gone = [...sessions.values()].filter((s) => s.expiresAt <= now).map((s) => s.id);
      for (const id of gone) sessions.delete(id);
      if (gone.length > 0) opts.onExpire?.(gone);
      return gone;
    },
  };
}
