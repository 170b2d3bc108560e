/**
 * Where per-identity limits are counted for a whole cluster: every instance
 * that shares one (Redis: `createRedisLimits` in `@corbel/store-redis`; the server's
 * `sharedLimits` option)
 * enforces `commandsPerSecond` / `commandBurst` and `maxStreamsPerIdentity`
 * over the sum of all instances' traffic instead of each on its own.
 *
 * Streams are counted per instance under a lease the instance renews, so the
 * streams of an instance that dies stop counting once its lease lapses.
 */
export interface SharedLimitStore {
  /** "redis". */
  readonly kind: string;
  /** Takes `n` command tokens of `key`'s shared bucket: 0 when allowed, else the seconds to wait. */
  takeCommands(key: string, n: number, perSecond: number, burst: number): Promise<number>;
  /** Takes one of `key`'s `max` stream slots across the cluster; false when all are taken. */
  acquireStream(key: string, max: number): Promise<boolean>;
  /** Gives a slot taken with `acquireStream` back. */
  releaseStream(key: string): Promise<void>;
  /** Stops renewing this instance's lease (its streams stop counting once it lapses). */
  close(): Promise<void>;
}
