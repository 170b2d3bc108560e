/** How long and how often each measurement runs. */
export interface BenchMode {
  name: 'full' | 'quick' | 'smoke';
  reps: number;
  commands: {
    connections: number;
    warmupMs: number;
    durationMs: number;
    /** Repetitions of the commands suite, when not `reps`: its targets are ratios of noisy figures. */
    reps?: number;
    /** Contenders left out of this mode (the tsx comparison costs a slow start-up and proves nothing in CI). */
    skip?: string[];
  };
  fanout: {
    sizes: number[];
    warmupMs: number;
    durationMs: number;
    latencyWarmupMs: number;
    latencyMs: number;
    drainMs: number;
  };
  /**
   * One station holding `subscribers` streams (as many as a process's 20,000
   * descriptors allow), opened from `clients` processes, with readings at
   * `perSec` and then at each rate of `stepDown`, `durationMs` each.
   */
  scale: {
    subscribers: number;
    perSec: number;
    stepDown?: number[];
    durationMs: number;
    clients: number;
  } | null;
}

export const MODES: Record<BenchMode['name'], BenchMode> = {
  full: {
    name: 'full',
    reps: 3,
    commands: { connections: 50, warmupMs: 700, durationMs: 2500, reps: 5 },
    fanout: {
      sizes: [100, 1000, 5000],
      warmupMs: 700,
      durationMs: 2000,
      latencyWarmupMs: 300,
      latencyMs: 2000,
      drainMs: 3000,
    },
    scale: { subscribers: 19_000, perSec: 10, stepDown: [5, 2, 1], durationMs: 10_000, clients: 4 },
  },
  quick: {
    name: 'quick',
    reps: 1,
    // A second of warm-up: less leaves Corbel's larger serving path half-compiled by V8.
    commands: { connections: 50, warmupMs: 1000, durationMs: 1000, skip: ['corbel-tsx'] },
    fanout: {
      sizes: [1000],
      warmupMs: 300,
      durationMs: 1000,
      latencyWarmupMs: 200,
      latencyMs: 1000,
      drainMs: 2000,
    },
    scale: null,
  },
  smoke: {
    name: 'smoke',
    reps: 1,
    commands: { connections: 10, warmupMs: 100, durationMs: 300, skip: ['corbel-tsx'] },
    fanout: {
      sizes: [20],
      warmupMs: 100,
      durationMs: 300,
      latencyWarmupMs: 100,
      latencyMs: 300,
      drainMs: 1000,
    },
    scale: null,
  },
};

/** Events a second for the latency measurement: 100, fewer above 1,000 subscribers (100,000 deliveries/s). */
export function latencyRate(subscribers: number): number {
  return Math.max(1, Math.min(100, Math.floor(100_000 / subscribers)));
}

/** How far (in events) the saturating publisher may run ahead of the average subscriber. */
export function saturationWindow(subscribers: number): number {
  return Math.max(16, Math.min(500, Math.round(50_000 / subscribers)));
}
