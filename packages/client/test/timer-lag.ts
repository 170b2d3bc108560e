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

/**
 * What `count` grew by during a quiet window of `ms`, or undefined when this
 * process's timers fell `maxLagMs` behind at any point from the start of a
 * settle of `settleMs` to the end of the window. The settle is not counted:
 * a stall just before it (say, at the end of the previous window) shows its
 * effect there (the expired timer runs at once), not in this window.
 */
export async function countInCleanWindow(
  count: () => number,
  ms: number,
  { settleMs = 300, maxLagMs = 150 }: { settleMs?: number; maxLagMs?: number } = {},
): Promise<number | undefined> {
  const stop = watchTimerLag();
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const before = count();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const grew = count() - before;
  return stop() < maxLagMs ? grew : undefined;
}
