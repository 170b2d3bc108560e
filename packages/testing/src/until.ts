export interface UntilOptions {
  /**
   * What is awaited, as the timeout message should name it ("the server to see
   * the client leave"). A function is called only on timeout, so the message
   * can show the state the test last saw.
   */
  what: string | (() => string);
  /** How long to keep polling before failing; default 10 000 ms. */
  timeoutMs?: number | undefined;
}

/** Short enough not to slow a test down, long enough not to spin the event loop. */
const INTERVAL_MS = 20;

/**
 * Polls `check` until it returns true, or fails after `timeoutMs` with an
 * Error naming `what` and the time waited: how a real-socket test waits for
 * something another process or the event loop will do, instead of sleeping
 * a fixed time. A check that throws fails the wait with its error; a check
 * that never settles still fails at the deadline.
 *
 * @example
 * const seen: string[] = [];
 * await until(() => seen.length === 2, { what: 'two readings', timeoutMs: 5_000 });
 * await until(async () => (await fetch('http://127.0.0.1:8080/health')).ok, {
 *   what: () => `the station to be healthy (seen so far: ${seen.join(', ')})`,
 * });
 */
export async function until(check: () => boolean | Promise<boolean>, options: UntilOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  const deadline = started + timeoutMs;
  for (;;) {
    const result = check();
    const held = typeof result === 'boolean' ? result : await beforeDeadline(result, deadline);
    const now = performance.now();
    if (held !== 'late' && held) return;
    if (held === 'late' || now >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new Error(`timed out after ${Math.round(now - started)} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(INTERVAL_MS, deadline - now)));
  }
}

/** The check's answer, or 'late' if it has not settled by the deadline (it is then left to itself). */
async function beforeDeadline(answer: Promise<boolean>, deadline: number): Promise<boolean | 'late'> {
  answer.catch(() => {}); // a late rejection has nobody left to hear it
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
