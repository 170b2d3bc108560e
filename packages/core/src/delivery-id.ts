/**
 * A durable stream names each delivery `<event id>~<delivery>`: the event id
 * (what `ack` takes back) and how many times this event has been handed out
 * (1 the first time, 2 and up for redeliveries). `~` appears in no event id
 * of any Corbel store.
 *
 * @example
 * deliveryId('4f2a91c0-7', 2) // '4f2a91c0-7~2'
 */
export function deliveryId(eventId: string, deliveries: number): string {
  return `${eventId}~${deliveries}`;
}

/**
 * A subscription whose delivery policy dropped events names the next event it
 * delivers `<event id>!<dropped so far>`. `!` appears in no event id either.
 *
 * @example
 * droppedId('4f2a91c0-7', 12) // '4f2a91c0-7!12'
 */
export function droppedId(eventId: string, dropped: number): string {
  return `${eventId}!${dropped}`;
}

const count = (text: string): number => {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

/**
 * Splits an id as a stream sent it: the event id, its delivery count (1 for a
 * plain event id) and how many events the subscription had dropped by then
 * (0 when it says nothing).
 *
 * @example
 * parseDeliveryId('4f2a91c0-7~2') // { eventId: '4f2a91c0-7', deliveries: 2, dropped: 0 }
 * parseDeliveryId('4f2a91c0-9!3') // { eventId: '4f2a91c0-9', deliveries: 1, dropped: 3 }
 */
export function parseDeliveryId(id: string): { eventId: string; deliveries: number; dropped: number } {
  const tilde = id.lastIndexOf('~');
  if (tilde >= 0)
    return { eventId: id.slice(0, tilde), deliveries: count(id.slice(tilde + 1)) || 1, dropped: 0 };
  const bang = id.lastIndexOf('!');
  if (bang >= 0) return { eventId: id.slice(0, bang), deliveries: 1, dropped: count(id.slice(bang + 1)) };
  return { eventId: id, deliveries: 1, dropped: 0 };
}
