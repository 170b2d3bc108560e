/**
 * The one event-log interface. Memory, SQLite and Redis implement it, and the
 * store conformance suite in `@corbel/testing` runs against each of them.
 *
 * A log orders events per channel and names each with an id that only it
 * interprets. Payloads go in and come out as values; how a store encodes them
 * (superjson for the durable ones) is its own business.
 */
export interface StoredEvent<T = unknown> {
  /** Opaque, ordered within its channel, valid on every instance sharing the log. */
  readonly id: string;
  readonly channel: string;
  readonly payload: T;
  /** Milliseconds since the epoch, when the log accepted the event. */
  readonly at: number;
}

/** The answer to `appendOnce`. */
export interface AppendOnceResult {
  readonly event: StoredEvent;
  /** True when the key was already recorded and nothing was appended. */
  readonly duplicate: boolean;
}

export interface ReadOptions {
  /** Return events strictly after this id (omit for the oldest retained). */
  after?: string | undefined;
  /** At most this many events (a page). */
  limit: number;
}

export interface Retention {
  /** Keep at most this many events per channel. */
  maxCount?: number | undefined;
  /** Drop events older than this many milliseconds. */
  maxAgeMs?: number | undefined;
}

export interface EventLog {
  /** A short name for logs and metrics: "memory", "sqlite", "redis". */
  readonly kind: string;

  /**
   * Appends one event and resolves only once it is stored as durably as the
   * store promises. Resolution order equals id order within a channel.
   */
  append(channel: string, payload: unknown): Promise<StoredEvent>;

  /**
   * Appends one event under a publish key, atomically with a record of
   * key → event id kept for `ttlMs`: when the key is already recorded,
   * nothing is appended and the recorded event comes back with
   * `duplicate: true` (its stored payload when still retained, else
   * `payload`). This is what makes an idempotent mutation exactly-once
   * across a crash between storing its event and recording its answer.
   * A log without it gets plain `append` (at-least-once across such a crash).
   */
  appendOnce?(channel: string, payload: unknown, key: string, ttlMs: number): Promise<AppendOnceResult>;

  /**
   * Reads a page of events after `after`, oldest first.
   * Throws CorbelError INVALID_EVENT_ID when `after` is not an id of this log,
   * and HISTORY_GONE when events after it were trimmed (or it belongs to a
   * history this log no longer has).
   */
  read(channel: string, opts: ReadOptions): Promise<StoredEvent[]>;

  /**
   * Checks a resume id without reading (the same errors as `read`), so a
   * refused resume is answered before a stream starts.
   */
  checkResumeId(channel: string, id: string): Promise<void>;

  /** Orders two ids of this log (negative, zero, positive). */
  compareIds(a: string, b: string): number;

  /** The newest id of a channel, or null when it has none. */
  latestId(channel: string): Promise<string | null>;

  /**
   * For logs shared by several processes (Redis): the live feed of a channel,
   * including events appended by other instances. The hub then delivers from
   * this feed instead of at `append`. Embedded logs leave it undefined.
   */
  tail?(channel: string, onEvent: (event: StoredEvent) => void, onError: (error: Error) => void): () => void;

  /** Throws when the store cannot serve (used by readiness checks). */
  ping?(): Promise<void>;

  close(): Promise<void>;
}
