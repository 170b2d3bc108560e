/**
 * Calls `publish` `perSec` times a second on a drift-free schedule (a late
 * call makes the next ones come sooner, never fewer over time), each awaited,
 * while `running()` holds; resolves with the number of calls made.
 */
export async function atRate(
  perSec: number,
  publish: () => unknown,
  running: () => boolean,
): Promise<number> {
  const period = 1000 / perSec;
  const t0 = performance.now();
  let n = 0;
  while (running()) {
    await publish();
    n++;
    const wait = t0 + n * period - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  return n;
}
