import { createHash, randomBytes } from 'node:crypto';

/**
 * Idempotency records: what lets a client retry a mutation whose response it
 * lost (a reset, a timeout, a 503) on any instance without running it twice.
 *
 * A record is keyed by a scope, the hash of (identity, procedure, key), and
 * goes through two states:
 * - pending: one caller holds a lease on it and is running the procedure;
 *   the lease lets another instance take over once it lapses (the holder
 *   crashed), instead of the key being stuck forever;
 * - done: the serialized response (status and body) is kept for `ttlMs`, and
 *   every repeat gets exactly those bytes.
 * Each record also keeps the fingerprint of the input it was first used with,
 * so the same key with another input is told apart (422).
 *
 * Memory, SQLite and Redis implement it; `runIdempotencyConformance` in
 * `@corbel/testing` runs against each of them.
 */
export interface IdempotencyStore {
  /** "memory", "sqlite", "redis". */
  readonly kind: string;
  /** How long a done record is kept. */
  readonly ttlMs: number;
  /**
   * Claims `scope` for a run of the input with `fingerprint`, atomically
   * across every process sharing the store.
   */
  claim(scope: string, fingerprint: string, leaseMs: number): Promise<IdempotencyClaim>;
  /**
   * Records the response of a claimed run. Resolves false (and records
   * nothing) when the claim was lost, i.e. its lease lapsed and someone else
   * claimed the scope since.
   */
  complete(scope: string, token: string, response: RecordedResponse): Promise<boolean>;
  /** Gives a claim back without a response (the run failed in a way a retry may fix). */
  release(scope: string, token: string): Promise<void>;
}

/** The answer to `claim`. */
export type IdempotencyClaim =
  /** The caller runs the procedure, then `complete`s or `release`s with `token`. */
  | { readonly state: 'claimed'; readonly token: string }
  /** A run with this input finished: answer with its response. */
  | { readonly state: 'done'; readonly response: RecordedResponse }
  /** A run with this input holds a live lease: wait for it. */
  | { readonly state: 'pending' }
  /** The key was used with another input (pending or done). */
  | { readonly state: 'mismatch' };

/** A response as written to the wire, replayed byte for byte. */
export interface RecordedResponse {
  readonly status: number;
  readonly body: string;
}

/** Defaults shared by every store. */
export const IDEMPOTENCY_DEFAULTS = {
  /** Done records are kept 24 hours (Stripe's window). */
  ttlMs: 24 * 60 * 60_000,
  /** At most this many records per store (memory, SQLite); the oldest go first. */
  maxRecords: 100_000,
} as const;

/**
 * The scope of a key: a fixed-size hash of (identity, procedure, key), so
 * stores never see (or index) the raw key and one identity's keys can never
 * answer another's calls.
 *
 * @example
 * const scope = idempotencyScope('alice', 'weather.report', String(req.headers['idempotency-key']));
 */
export function idempotencyScope(identity: string, procedure: string, key: string): string {
  return createHash('sha256').update(`${identity}\0${procedure}\0${key}`).digest('hex');
}

/**
 * The fingerprint of a decoded input: a hash of its canonical form (object
 * keys sorted; Date, Map, Set, BigInt and the non-JSON numbers tagged), so
 * the same value sent with keys in another order is the same input.
 *
 * @example
 * inputFingerprint({ a: 1, b: 2 }) === inputFingerprint({ b: 2, a: 1 }); // true
 */
export function inputFingerprint(input: unknown): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

/** A claim token: which run holds a pending record. */
export function newClaimToken(): string {
  return randomBytes(12).toString('hex');
}

function canonicalJson(value: unknown, depth = 0): string {
  if (depth > 64) return '"<deep>"';
  if (value === undefined) return '{"$u":1}';
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : `{"$n":"${value}"}`;
  if (typeof value === 'bigint') return `{"$b":"${value}"}`;
  if (value instanceof Date)
    return `{"$d":${JSON.stringify(Number.isNaN(value.getTime()) ? 'NaN' : value.toISOString())}}`;
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value instanceof Map) {
    const pairs = [...value].map(
      ([k, v]) => `[${canonicalJson(k, depth + 1)},${canonicalJson(v, depth + 1)}]`,
    );
    return `{"$m":[${pairs.sort().join(',')}]}`;
  }
  if (value instanceof Set) {
    return `{"$s":[${[...value]
      .map((v) => canonicalJson(v, depth + 1))
      .sort()
      .join(',')}]}`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(String(value));
}

export interface MemoryIdempotencyOptions {
  /** How long a done record is kept (default 24 h). */
  ttlMs?: number | undefined;
  /** Most records kept; past it the oldest are dropped (default 100,000). */
  maxRecords?: number | undefined;
}

type MemoryRecord =
  | { state: 'pending'; fingerprint: string; token: string; until: number }
  | { state: 'done'; fingerprint: string; response: RecordedResponse; until: number };

/**
 * Idempotency records in memory: they protect retries on one instance while
 * it runs, and end with the process (use the SQLite or Redis store to keep
 * them across restarts or share them across instances).
 *
 * @example
 * const server = createCorbelServer({ router, idempotency: createMemoryIdempotency({ ttlMs: 3_600_000 }) });
 */
export function createMemoryIdempotency(opts: MemoryIdempotencyOptions = {}): IdempotencyStore {
  const ttlMs = opts.ttlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs;
  const maxRecords = opts.maxRecords ?? IDEMPOTENCY_DEFAULTS.maxRecords;
  // Insertion order is age order: the first entries are the ones to drop.
  const records = new Map<string, MemoryRecord>();
  const live = (scope: string, now: number) => {
    const r = records.get(scope);
    if (r && r.until <= now) {
      records.delete(scope);
      return undefined;
    }
    return r;
  };
  const put = (scope: string, record: MemoryRecord) => {
    records.delete(scope);
    records.set(scope, record);
    while (records.size > maxRecords) records.delete(records.keys().next().value as string);
  };
  return {
    kind: 'memory',
    ttlMs,
    async claim(scope, fingerprint, leaseMs) {
      const now = Date.now();
      const r = live(scope, now);
      if (!r) {
        const token = newClaimToken();
        put(scope, { state: 'pending', fingerprint, token, until: now + leaseMs });
        return { state: 'claimed', token };
      }
      if (r.fingerprint !== fingerprint) return { state: 'mismatch' };
      return r.state === 'done' ? { state: 'done', response: r.response } : { state: 'pending' };
    },
    async complete(scope, token, response) {
      const r = live(scope, Date.now());
      if (r?.state !== 'pending' || r.token !== token) return false;
      put(scope, { state: 'done', fingerprint: r.fingerprint, response, until: Date.now() + ttlMs });
      return true;
    },
    async release(scope, token) {
      const r = records.get(scope);
      if (r?.state === 'pending' && r.token === token) records.delete(scope);
    },
  };
}
