/** One target's outcome in a call to many. */
export type Settled<K, T> =
  | { target: K; status: 'fulfilled'; value: T }
  | { target: K; status: 'rejected'; error: Error };

/**
 * Runs `fn` for every target with at most `concurrency` in flight, and
 * settles each (never rejects): a fan-out to 1,000 clients neither opens
 * 1,000 calls at once nor fails as a whole because one client is gone.
 *
 * @example
 * const results = await settleAll(sessionIds, 64, (id) => reverse.call(id, 'board.describe', {}));
 */
export async function settleAll<K, T>(
  targets: readonly K[],
  concurrency: number,
  fn: (target: K) => Promise<T>,
): Promise<Settled<K, T>[]> {
  const out = new Array<Settled<K, T>>(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const target = targets[i] as K;
      try {
        out[i] = { target, status: 'fulfilled', value: await fn(target) };
      } catch (error) {
        out[i] = {
          target,
          status: 'rejected',
          error: error instanceof Error ? error : new Error(String(error)),
        };
      }
    }
  };
  const workers = Math.max(1, Math.min(concurrency, targets.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}
