/**
 * Every limit the server enforces, with its default. All are per server
 * instance; "per identity" means per authenticated identity id, or per client
 * address when the server runs without authentication.
 */
export interface Limits {
  /** Largest request body in bytes; larger gets 413 (default 1 MiB). */
  maxBodyBytes: number;
  /** Longest request target (path + query) in bytes; longer gets 414 (default 8 KiB). */
  maxUrlBytes: number;
  /** Largest request head in bytes; larger gets 431 (default 16 KiB). */
  maxHeaderBytes: number;
  /** Most header fields in a request; more gets 431 (default 100). */
  maxHeaderCount: number;
  /** Most calls in one batch; more gets 400 (default 50). */
  maxBatchSize: number;
  /** Open TCP connections for the whole server; past it new sockets are dropped (default 10 000). */
  maxConnections: number;
  /** Commands in flight per identity; past it 429 + Retry-After (default 256). */
  maxInFlightPerIdentity: number;
  /**
   * Open event streams per identity; past it 429 + Retry-After (default 1000). Generous because one
   * shared token (or one address, without authentication) may stand for many legitimate clients.
   */
  maxStreamsPerIdentity: number;
  /** Sustained commands per second per identity; past the burst 429 + Retry-After (default 1000; 0 turns it off). */
  commandsPerSecond: number;
  /** Commands an identity may send at once above the sustained rate (default 2000). */
  commandBurst: number;
  /**
   * Request bodies being received at once from one client address; past it 429 (default 1024). A
   * command takes its in-flight slot only once its body is in, so this is what bounds slow bodies.
   */
  maxUnfinishedBodiesPerAddress: number;
  /** Time to receive a command's body once its head is in; 408 after (default 10 s). */
  bodyTimeoutMs: number;
  /** Failed authentications one client address may make at once; past it 429 + Retry-After (default 10). */
  authFailureBurst: number;
  /** Failed authentications per minute per client address, sustained, past the burst (default 30). */
  authFailuresPerMinute: number;
  /** Time to receive a request's head (slowloris); 408 after (default 10 s). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, head and body; 408 after (default 30 s). Event streams are responses, so they are exempt. */
  requestTimeoutMs: number;
  /** Idle time before a kept-alive connection is closed (default 5 s). */
  keepAliveTimeoutMs: number;
  /** An event stream ends after this long and its client reconnects transparently with Last-Event-ID (default 1 h; 0 for never). */
  maxStreamDurationMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 1024 * 1024,
  maxUrlBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxBatchSize: 50,
  maxConnections: 10_000,
  maxInFlightPerIdentity: 256,
  maxStreamsPerIdentity: 1000,
  commandsPerSecond: 1000,
  commandBurst: 2000,
  maxUnfinishedBodiesPerAddress: 1024,
  bodyTimeoutMs: 10_000,
  authFailureBurst: 10,
  authFailuresPerMinute: 30,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxStreamDurationMs: 3_600_000,
};

/** Kinds of limit hits, the label of `corbel_limit_hits_total`. */
export type LimitKind =
  | 'body'
  | 'url'
  | 'header'
  | 'batch'
  | 'in-flight'
  | 'streams'
  | 'rate'
  | 'timeout'
  | 'connections'
  | 'bodies'
  | 'auth-failures';

/**
 * Counts what each identity holds open (in-flight requests, streams). A key
 * back at zero is kept until many are: one caller's commands, one after the
 * other, then update one entry in place instead of deleting and re-adding it
 * (which made the table rehash every few commands). The idle keys are swept
 * once they outnumber both the active ones and `IDLE_SWEEP`, so the table
 * stays about as big as the set of callers active right now.
 */
export class IdentityCounter {
  private readonly counts = new Map<string, number>();
  private active = 0;
  private idle = 0;

  constructor(readonly max: number) {}

  /** Takes a slot; false when the identity is at its maximum. */
  acquire(key: string): boolean {
    const n = this.counts.get(key);
    if (n === undefined) {
      if (this.max < 1) return false;
      this.active++;
    } else if (n >= this.max) {
      return false;
    } else if (n === 0) {
      this.active++;
      this.idle--;
    }
    this.counts.set(key, (n ?? 0) + 1);
    return true;
  }

  release(key: string): void {
    const n = this.counts.get(key);
    // Never below zero: a release without its acquire changes nothing.
    if (n === undefined || n <= 0) return;
    this.counts.set(key, n - 1);
    if (n > 1) return;
    this.active--;
    if (++this.idle > IDLE_SWEEP && this.idle > this.active) this.sweep();
  }

  /** How many keys hold at least one slot. */
  get size(): number {
    return this.active;
  }

  /** Keys in the table, idle ones included (what its bound is about). */
  get keys(): number {
    return this.counts.size;
  }

  private sweep(): void {
    for (const [key, n] of this.counts) if (n === 0) this.counts.delete(key);
    this.idle = 0;
  }
}

/** Idle keys an IdentityCounter keeps before it sweeps them (see there). */
const IDLE_SWEEP = 1024;

/**
 * A token bucket per identity. Buckets that have refilled completely carry
 * no information and are swept, and the table is capped, so memory stays
 * bounded however many identities (or spoofed addresses) call.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds to wait (for Retry-After). */
  take(key: string, now = Date.now()): number {
    if (!(this.perSecond > 0)) return 0;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.sweep(now, true);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    }
    if (now - this.lastSweep > 10_000) this.sweep(now, false);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  private sweep(now: number, force: boolean): void {
    this.lastSweep = now;
    const full = this.burst / this.perSecond;
    for (const [key, b] of this.buckets) {
      if ((now - b.at) / 1000 >= full) this.buckets.delete(key);
    }
    // Still full of busy callers: forget the oldest rather than grow.
    if (force && this.buckets.size >= this.maxKeys) {
      let drop = Math.ceil(this.maxKeys / 10);
      for (const key of this.buckets.keys()) {
        this.buckets.delete(key);
        if (--drop <= 0) break;
      }
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
