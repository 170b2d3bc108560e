/**
 * Runs `job(0)` … `job(count - 1)`, at most `width` at a time, each lane
 * starting the next index as soon as its previous job is done; resolves with
 * the results by index. What a closed-loop load (one request per connection
 * in flight) and a bounded set of parallel processes both are.
 *
 * @example
 * await inLanes(5000, 10, () => sendOneCommand()); // 10 connections, 5,000 commands
 */
export async function inLanes<T>(
  count: number,
  width: number,
  job: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
  return results;
}
