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
 * Splits a delivery id; a plain event id counts as a first delivery.
 *
 * @example
 * parseDeliveryId('4f2a91c0-7~2') // { eventId: '4f2a91c0-7', deliveries: 2 }
 */
export function parseDeliveryId(id: string): { eventId: string; deliveries: number } {
  const at = id.lastIndexOf('~');
  if (at < 0) return { eventId: id, deliveries: 1 };
  const deliveries = Number(id.slice(at + 1));
  return {
    eventId: id.slice(0, at),
    deliveries: Number.isSafeInteger(deliveries) && deliveries > 0 ? deliveries : 1,
  };
}
