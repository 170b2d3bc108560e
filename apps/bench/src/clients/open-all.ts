import { inLanes } from '../lanes.js';

/** How opening a set of subscribers went. */
export interface OpenedAll {
  connected: number;
  failed: number;
  retried: number;
  /** The first failure's message ('' when none failed). */
  firstError: string;
  ms: number;
}

/**
 * Opens `n` subscribers with `open(index)`, `concurrency` handshakes at a
 * time, retrying a failed one up to `retries` times with a growing pause, as
 * a real client retries a refused or timed-out request.
 */
export async function openAll(
  n: number,
  concurrency: number,
  retries: number,
  open: (index: number) => Promise<void>,
): Promise<OpenedAll> {
  const started = performance.now();
  let failed = 0;
  let retried = 0;
  let firstError = '';
  await inLanes(n, concurrency, async (index) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await open(index);
        return;
      } catch (error) {
        firstError ||= (error as Error).message;
        if (attempt >= retries) {
          failed++;
          return;
        }
        retried++;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  });
  return { connected: n - failed, failed, retried, firstError, ms: performance.now() - started };
}
