/**
 * Limits for Corbel in the benchmark. The load comes from one address, which
 * the server's per-identity limits (meant for real callers) would otherwise
 * throttle; everything else (gate, metrics, logger) stays at its defaults, so
 * the measured path is the one users run.
 */
export const BENCH_LIMITS = {
  maxConnections: 20_000,
  maxStreamsPerIdentity: 1_000_000,
  maxInFlightPerIdentity: 1_000_000,
  commandsPerSecond: 1_000_000_000,
  commandBurst: 1_000_000_000,
};
