/**
 * Where a durable consumer's position lives. Memory, SQLite and Redis
 * implement it, and the consumer-positions conformance suite in
 * `@corbel/testing` runs against each of them.
 *
 * A position is small: the id up to which every event is acknowledged, the
 * newest id ever handed out (so a restarted server can tell a redelivery from
 * a first delivery), and when the consumer was last seen. A position idle past
 * `ttlMs` is expired; the store keeps reporting it as expired (for
 * `DEFAULT_CONSUMER_TOMBSTONE_MS` more) instead of forgetting it, so a consumer
 * that comes back too late is told HISTORY_GONE, never silently restarted.
 */
export interface ConsumerPosition {
  /** `consumerKey(owner, name, channel)`. */
  readonly key: string;
  /** Every event up to and including this id is acknowledged; `"0"` (START_EVENT_ID): none yet. */
  readonly acked: string;
  /** The newest id handed to a member; `"0"` when none. */
  readonly delivered: string;
  readonly lastSeenAt: number;
  /** `lastSeenAt + ttlMs`: after this the consumer is expired. */
  readonly expiresAt: number;
}

export interface ConsumerPositions {
  /** "memory", "sqlite" or "redis". */
  readonly kind: string;
  /** Idle time after which a consumer expires. */
  readonly ttlMs: number;
  /** The position, expired or not (see `expiresAt`); null when unknown. */
  get(key: string): Promise<ConsumerPosition | null>;
  /** Creates or replaces a position and marks the consumer seen now. */
  save(key: string, position: { acked: string; delivered: string }): Promise<ConsumerPosition>;
  /** Forgets a consumer. */
  delete(key: string): Promise<void>;
}

/** Idle time after which a consumer expires, unless a store is told otherwise: 24 hours. */
export const DEFAULT_CONSUMER_TTL_MS = 24 * 60 * 60_000;

/** How long an expired consumer is still reported as expired before its name is new again: 7 days. */
export const DEFAULT_CONSUMER_TOMBSTONE_MS = 7 * 24 * 60 * 60_000;

/**
 * The store key of a consumer: names are scoped to the identity that uses
 * them and to one channel, so two tenants' `billing` never meet.
 *
 * @example
 * consumerKey('alice', 'billing', 'weather.readings') // 'alice\nbilling\nweather.readings'
 */
export function consumerKey(owner: string, name: string, channel: string): string {
  return `${owner}\n${name}\n${channel}`;
}

export interface MemoryConsumerPositionsOptions {
  /** Idle time after which a consumer expires (default 24 hours). */
  ttlMs?: number | undefined;
}

/**
 * Consumer positions in memory, for tests and single-process servers: they
 * are lost when the process ends.
 *
 * @example
 * const consumers = createDurableConsumers({ hub, positions: createMemoryConsumerPositions() });
 */
export function createMemoryConsumerPositions(opts: MemoryConsumerPositionsOptions = {}): ConsumerPositions {
  const ttlMs = opts.ttlMs ?? DEFAULT_CONSUMER_TTL_MS;
  const positions = new Map<string, ConsumerPosition>();
  return {
    kind: 'memory',
    ttlMs,
    async get(key) {
      const found = positions.get(key);
      if (found && found.expiresAt + DEFAULT_CONSUMER_TOMBSTONE_MS <= Date.now()) {
        positions.delete(key);
        return null;
      }
      return found ?? null;
    },
    async save(key, { acked, delivered }) {
      const now = Date.now();
      const position = { key, acked, delivered, lastSeenAt: now, expiresAt: now + ttlMs };
      positions.set(key, position);
      return position;
    },
    async delete(key) {
      positions.delete(key);
    },
  };
}
