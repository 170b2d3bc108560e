import { createDurableConsumer } from '@corbel/client';
import { procedureOf } from './connection.js';

/**
 * `corbel listen --durable <name>`: takes each delivery of the durable
 * consumer off the wire, acknowledges it, and only then hands it to `print`,
 * one at a time in arrival order. Acknowledging first means a listener killed
 * at any moment never prints an event twice; an event the server says is not
 * outstanding (printed already, or by another listener of the group) is skipped.
 *
 * @example
 * const onData = durablePrinter(client, 'weather.readings', 'audit', (id, data) => console.log(id, data), console.error, () => false);
 */
export function durablePrinter(
  client: unknown,
  channel: string,
  name: string,
  print: (id: string, data: unknown) => void,
  onAckError: (error: unknown) => void,
  /** True once the listener stops (`--count` reached, Ctrl-C): later events stay unacknowledged, for the next run. */
  done: () => boolean,
): (envelope: { id: string; data: unknown }) => void {
  const consumer = createDurableConsumer<unknown>({
    name,
    channel,
    sendAck: (input, { idempotencyKey }) =>
      procedureOf(client, 'consumer.ack').mutate(input, { context: { idempotencyKey } }),
    onAckError,
  });
  let line: Promise<void> = Promise.resolve();
  return ({ id, data }) => {
    line = line.then(async () => {
      if (done()) return;
      const taken = consumer.accept(id);
      if (taken && !done() && (await consumer.ackNow(taken.id))) print(taken.id, data);
    });
  };
}
