/**
 * How far this process's own timers fall behind: the widest gap between its
 * 20 ms ticks.
 *
 * Why: a test's client and server share one process. A stall on a loaded
 * machine runs the client's expired timers (an inactivity or connect timeout)
 * before the socket holding the server's answer or pings is read, and rightly
 * earns a reconnect. A test that asserts an exact count of connections counts
 * only the windows whose own timers never fell far behind.
 */
export function watchTimerLag(): () => number {
  let widest = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    widest = Math.max(widest, performance.now() - last);
    last = performance.now();
  }, 20);
  return () => {
    clearInterval(tick);
    return Math.max(widest, performance.now() - last);
  };
}

/** Waits `ms` and answers the widest gap between this process's 20 ms ticks meanwhile. */
export async function quietWindow(ms: number): Promise<number> {
  const stop = watchTimerLag();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return stop();
}
