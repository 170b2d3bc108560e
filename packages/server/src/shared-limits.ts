import { CorbelError, type SharedLimitStore } from '@corbel/core';
import type { IdentityCounter, RateLimiter } from './limits.js';
import type { CorbelLogger } from './logger.js';
import type { CorbelMetrics } from './metrics.js';

export type { SharedLimitStore };

/** How a stream slot was taken: from the cluster's count, or (degraded) this instance's. */
export type StreamSlot = 'shared' | 'local';

/**
 * Cluster-wide limits with a fallback: each check goes to the shared store;
 * when that fails or does not answer within `timeoutMs`, the instance's own
 * limiters decide instead (per-instance limits, as without a shared store),
 * and the switch is logged and shown in `corbel_limits_shared` (1 shared,
 * 0 degraded) and `corbel_limits_degraded_total`.
 */
export class SharedLimits {
  private degraded = false;

  constructor(
    private readonly store: SharedLimitStore,
    private readonly local: { rate: RateLimiter; streams: IdentityCounter },
    private readonly logger: CorbelLogger,
    private readonly metrics: CorbelMetrics | undefined,
    private readonly timeoutMs = 250,
  ) {
    metrics?.limitsShared.set(1);
  }

  /** Seconds to wait (0: admitted) for `n` commands of `key`. */
  async takeCommands(key: string, n: number): Promise<number> {
    try {
      const wait = await this.bounded(
        this.store.takeCommands(key, n, this.local.rate.perSecond, this.local.rate.burst),
      );
      this.restored();
      return wait;
    } catch (error) {
      this.degrade(error);
      let wait = 0;
      for (let i = 0; i < n && wait === 0; i++) wait = this.local.rate.take(key);
      return wait;
    }
  }

  /** A stream slot for `key`, or false at the limit. */
  async acquireStream(key: string): Promise<StreamSlot | false> {
    try {
      const ok = await this.bounded(this.store.acquireStream(key, this.local.streams.max));
      this.restored();
      return ok ? 'shared' : false;
    } catch (error) {
      this.degrade(error);
      return this.local.streams.acquire(key) ? 'local' : false;
    }
  }

  releaseStream(key: string, slot: StreamSlot): void {
    if (slot === 'local') this.local.streams.release(key);
    // A release lost to an outage is corrected by the store's lease renewal.
    else this.store.releaseStream(key).catch(() => {});
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          // Timers run before the event loop reads sockets: when this process
          // was busy past the timeout, the store's answer may be waiting
          // unread. setImmediate lets that read happen first, so a pause of
          // ours (GC, a long task) is not taken for the store's outage.
          () =>
            setImmediate(() =>
              reject(new CorbelError('STORE_UNAVAILABLE', `no answer within ${this.timeoutMs} ms`)),
            ),
          this.timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private degrade(error: unknown): void {
    if (this.degraded) return;
    this.degraded = true;
    this.metrics?.limitsShared.set(0);
    this.metrics?.limitsDegraded.inc();
    this.logger.warn(
      { limits: this.store.kind, err: CorbelError.from(error, 'STORE_UNAVAILABLE').message },
      'cluster-wide limits unavailable: this instance enforces its own per-identity limits until the store answers again',
    );
  }

  private restored(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.metrics?.limitsShared.set(1);
    this.logger.info({ limits: this.store.kind }, 'cluster-wide limits restored');
  }
}
