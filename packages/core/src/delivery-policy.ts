/**
 * What a live subscriber's bounded queue does when it is full (CORBA's
 * `DiscardPolicy`), chosen per subscription:
 * - `cut-and-resume` (the default): the subscriber is cut off with the
 *   retryable SLOW_CONSUMER error and resumes from the log by id — nothing lost;
 * - `drop-oldest`: the oldest waiting event is dropped to make room;
 * - `drop-newest`: the arriving event is dropped;
 * - `latest-per-key`: while the subscriber is behind, a newer event of a key
 *   replaces the older one still waiting (e.g. per city: only the newest
 *   reading of each city waits); when the queue is full of distinct keys, the
 *   oldest is dropped.
 *
 * Dropped events are counted: the next event the subscriber receives says how
 * many so far (its id is `<event id>!<dropped>`, see `parseDeliveryId`), and
 * the hub's `onDrop` hook feeds the `corbel_events_dropped_total` metric.
 */
export type DeliveryPolicy = 'cut-and-resume' | 'drop-oldest' | 'drop-newest' | 'latest-per-key';

/** Every delivery policy, for input schemas and checks. */
export const DELIVERY_POLICIES: readonly DeliveryPolicy[] = [
  'cut-and-resume',
  'drop-oldest',
  'drop-newest',
  'latest-per-key',
];

/**
 * Makes room in a full queue for `incoming` under `policy` (not
 * `cut-and-resume`): mutates `queue` and returns how many events were dropped
 * (the incoming one included, when it is the one dropped).
 *
 * @example
 * const dropped = applyDeliveryPolicy(queue, incoming, 'drop-oldest', undefined);
 */
export function applyDeliveryPolicy<E extends { payload: P }, P>(
  queue: E[],
  incoming: E,
  policy: Exclude<DeliveryPolicy, 'cut-and-resume'>,
  keyOf: ((payload: P) => string) | undefined,
): number {
  if (policy === 'drop-newest') return 1;
  if (policy === 'latest-per-key' && keyOf) {
    // Keep the newest waiting event per key (the incoming one wins its key), in order.
    const seen = new Set<string>([keyOf(incoming.payload)]);
    const kept: E[] = [];
    for (let i = queue.length - 1; i >= 0; i--) {
      const key = keyOf(queue[i]!.payload);
      if (seen.has(key)) continue;
      seen.add(key);
      kept.push(queue[i]!);
    }
    kept.reverse();
    const dropped = queue.length - kept.length;
    queue.length = 0;
    queue.push(...kept);
    if (dropped > 0) {
      queue.push(incoming);
      return dropped;
    }
  }
  queue.shift();
  queue.push(incoming);
  return 1;
}

/**
 * `latest-per-key` while behind: removes the waiting event with `incoming`'s
 * key and appends `incoming` (so the queue stays in publish order); false when
 * no waiting event has that key.
 *
 * @example
 * if (!replaceSameKey(queue, incoming, (r: Reading) => r.city)) queue.push(incoming);
 */
export function replaceSameKey<E extends { payload: P }, P>(
  queue: E[],
  incoming: E,
  keyOf: ((payload: P) => string) | undefined,
): boolean {
  if (!keyOf) return false;
  const key = keyOf(incoming.payload);
  const at = queue.findIndex((e) => keyOf(e.payload) === key);
  if (at < 0) return false;
  queue.splice(at, 1);
  queue.push(incoming);
  return true;
}
