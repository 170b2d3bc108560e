/** What a paced publisher managed. */
export interface Paced {
  /** Ticks of the schedule: perSec × duration. */
  offered: number;
  /** Calls made; fewer than offered when calls took longer than the period. */
  published: number;
  /** From the first tick to the end of the last call (ms). */
  ms: number;
  /** How long a call took, on average and at most (ms): a publish that waits behind the previous fan-out shows here. */
  callMeanMs: number;
  callMaxMs: number;
}

/**
 * Calls `publish` `perSec` times a second for `durationMs`, each call
 * awaited, on a fixed schedule of ticks. A tick whose time passed while a
 * call was still out is skipped, never made up later in a burst: a server
 * that cannot keep the pace shows as fewer calls made, and the latency of
 * the calls it did take is not inflated by a backlog the publisher built.
 *
 * @example
 * const { offered, published } = await paced(10, 10_000, () => publishOne());
 */
export async function paced(perSec: number, durationMs: number, publish: () => unknown): Promise<Paced> {
  const period = 1000 / perSec;
  const offered = Math.max(1, Math.round((perSec * durationMs) / 1000));
  const t0 = performance.now();
  let published = 0;
  let callMs = 0;
  let callMaxMs = 0;
  for (let tick = 0; tick < offered; ) {
    const wait = t0 + tick * period - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const called = performance.now();
    await publish();
    const took = performance.now() - called;
    callMs += took;
    callMaxMs = Math.max(callMaxMs, took);
    published++;
    // The next tick not yet due: any that fell due during this call are skipped.
    tick = Math.max(tick + 1, Math.ceil((performance.now() - t0) / period));
  }
  return { offered, published, ms: performance.now() - t0, callMeanMs: callMs / published, callMaxMs };
}
