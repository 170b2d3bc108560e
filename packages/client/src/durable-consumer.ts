import { parseDeliveryId } from '@corbel/core';

/** One event of a durable consumer, as the app sees it. */
export interface DurableDelivery<T> {
  /** The event id: what `ack` takes. */
  id: string;
  data: T;
  /** 1 the first time this event is handed out; 2 and up when it is delivered again (not acknowledged in time). */
  deliveries: number;
}

/** What `consumer.ack` takes: the procedure's input. */
export interface AckInput {
  channel: string;
  consumer: string;
  ids: string[];
}

export interface DurableConsumerOptions<T> {
  /** The consumer's name (scoped by the server to your identity). */
  name: string;
  /** The channel's name, e.g. `weather.readings`. */
  channel: string;
  /**
   * Opens the channel's stream as this consumer.
   *
   * @example
   * const subscribe = (consumer: string, signal: AbortSignal) => client.weather.readings.subscribe({ consumer }, { signal });
   */
  subscribe?: ((consumer: string, signal: AbortSignal) => AsyncIterable<{ id: string; data: T }>) | undefined;
  /**
   * Sends one batch of acknowledgements. `idempotencyKey` stays the same
   * across resends of one `ackNow`, so a resend after a lost answer gets the
   * first answer back instead of "not outstanding".
   *
   * @example
   * const sendAck: DurableConsumerOptions<Reading>['sendAck'] = (input, { idempotencyKey }) =>
   *   client.consumer.ack.mutate(input, { context: { idempotencyKey } });
   */
  sendAck(input: AckInput, opts: { idempotencyKey: string }): Promise<unknown>;
  /** Acknowledge each delivery once the loop body that received it has run (default true). */
  autoAck?: boolean | undefined;
  /** A batch of acknowledgements failed; it is sent again after `retryMs`. */
  onAckError?: ((error: unknown) => void) | undefined;
  /** Wait before resending a failed batch (default 500 ms). */
  retryMs?: number | undefined;
  /**
   * How long an acknowledgement may wait to travel with later ones (default
   * 10 ms): fewer requests under load; after a crash, at most this much more
   * is delivered again.
   */
  ackDelayMs?: number | undefined;
}

export interface DurableConsumer<T> {
  /**
   * The consumer's deliveries: everything it has not acknowledged, then live
   * events, each handed to the app once (a redelivery of an event already
   * acknowledged here is acknowledged again and skipped). With `autoAck`
   * (the default) an event is acknowledged when the loop body returns.
   *
   * @example
   * for await (const { id, data, deliveries } of consumer.deliveries({ signal })) console.log(id, deliveries, data.city);
   */
  deliveries(opts?: { signal?: AbortSignal | undefined }): AsyncIterable<DurableDelivery<T>>;
  /**
   * Takes a delivery id off the wire: the event id and its delivery count, or
   * null when this event was acknowledged here already (its acknowledgement is
   * sent again). For apps that read the stream themselves.
   */
  accept(wireId: string): { id: string; deliveries: number } | null;
  /** Acknowledges an event (batched: one request in flight, the next carries everything since). */
  ack(id: string): void;
  /**
   * Acknowledges one event now, retrying until the server answers: true when
   * the server had it outstanding (this process now owns it), false when it
   * was acknowledged already or is not outstanding there (it will be delivered
   * again if it still needs to be). For apps whose effect must not repeat
   * after a crash: acknowledge first, then act (at most once per consumer).
   */
  ackNow(id: string, signal?: AbortSignal): Promise<boolean>;
  /** Resolves once every acknowledgement so far has been answered by the server (or `timeoutMs` passed). */
  flush(timeoutMs?: number): Promise<boolean>;
}

/** Acknowledged ids remembered for skipping redeliveries whose acknowledgement was lost. */
const REMEMBERED = 10_000;
/** Ids per `consumer.ack` call (the server accepts up to 500). */
const BATCH = 500;

/**
 * A durable consumer on the client: named deliveries with redelivery counts,
 * typed acknowledgements batched on the wire, and exactly-once hand-over to
 * the app while the process lives. The server keeps the position, so a
 * restarted process (anywhere) resumes after what it acknowledged.
 *
 * @example
 * const consumer = createDurableConsumer({
 *   name: 'billing', channel: 'weather.readings',
 *   subscribe: (consumer, signal) => client.weather.readings.subscribe({ consumer }, { signal }),
 *   sendAck: (input, { idempotencyKey }) => client.consumer.ack.mutate(input, { context: { idempotencyKey } }),
 * });
 * for await (const { data } of consumer.deliveries()) console.log(data.city);
 */
export function createDurableConsumer<T>(opts: DurableConsumerOptions<T>): DurableConsumer<T> {
  const autoAck = opts.autoAck ?? true;
  const retryMs = opts.retryMs ?? 500;
  const ackDelayMs = opts.ackDelayMs ?? 10;
  const acked = new Set<string>();
  const pending = new Set<string>();
  let inFlight: Promise<void> | null = null;
  let scheduled = false;
  const idle: (() => void)[] = [];

  const settleIdle = () => {
    if (pending.size > 0 || inFlight || scheduled) return;
    for (const resolve of idle.splice(0)) resolve();
  };

  const send = () => {
    scheduled = false;
    if (inFlight || pending.size === 0) return settleIdle();
    const ids = [...pending].slice(0, BATCH);
    for (const id of ids) pending.delete(id);
    inFlight = opts
      .sendAck(
        { channel: opts.channel, consumer: opts.name, ids },
        { idempotencyKey: globalThis.crypto.randomUUID() },
      )
      .then(
        () => {
          inFlight = null;
          send();
        },
        (error: unknown) => {
          for (const id of ids) pending.add(id);
          opts.onAckError?.(error);
          setTimeout(() => {
            inFlight = null;
            send();
          }, retryMs).unref?.();
        },
      );
  };

  const remember = (id: string) => {
    if (acked.has(id)) return;
    acked.add(id);
    if (acked.size > REMEMBERED) acked.delete(acked.values().next().value as string);
  };

  const ack = (id: string) => {
    remember(id);
    pending.add(id);
    // Acks made within the delay (and while one batch is in flight) travel together.
    if (!scheduled && !inFlight) {
      scheduled = true;
      if (ackDelayMs > 0) setTimeout(send, ackDelayMs);
      else queueMicrotask(send);
    }
  };

  const accept = (wireId: string) => {
    const { eventId, deliveries } = parseDeliveryId(wireId);
    if (acked.has(eventId)) {
      ack(eventId);
      return null;
    }
    return { id: eventId, deliveries };
  };

  const ackNow = async (id: string, signal?: AbortSignal): Promise<boolean> => {
    const idempotencyKey = globalThis.crypto.randomUUID();
    for (;;) {
      signal?.throwIfAborted();
      try {
        const answer = (await opts.sendAck(
          { channel: opts.channel, consumer: opts.name, ids: [id] },
          { idempotencyKey },
        )) as {
          acked?: number;
        } | null;
        const owned = (answer?.acked ?? 0) > 0;
        if (owned) remember(id);
        return owned;
      } catch (error) {
        opts.onAckError?.(error);
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
  };

  return {
    accept,
    ack,
    ackNow,
    deliveries(dopts = {}) {
      const subscribe = opts.subscribe;
      if (!subscribe) throw new TypeError('createDurableConsumer: deliveries() needs the subscribe option');
      const signal = dopts.signal ?? new AbortController().signal;
      return {
        async *[Symbol.asyncIterator]() {
          for await (const { id: wireId, data } of subscribe(opts.name, signal)) {
            const taken = accept(wireId);
            if (!taken) continue;
            yield { id: taken.id, data, deliveries: taken.deliveries };
            // Resumed: the loop body that got this event has returned.
            if (autoAck) ack(taken.id);
          }
        },
      };
    },
    flush(timeoutMs = 5000) {
      if (pending.size === 0 && !inFlight && !scheduled) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        idle.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
  };
}
