import type { z } from 'zod';
import type { Channel } from './channel.js';
import { parseDeliveryId } from './delivery-id.js';
import type { DeliveryPolicy } from './delivery-policy.js';
import { CorbelError } from './errors.js';
import type { EventLog, StoredEvent } from './event-log.js';
import { IDEMPOTENCY_DEFAULTS } from './idempotency.js';
import { createMemoryLog } from './memory-log.js';
import { nextPublishKey, publishKeyOf } from './publish-key.js';
import { type EndReason, HubSubscription, START_EVENT_ID } from './subscription.js';

/** Observability hooks; each is optional and called synchronously. */
export interface HubHooks {
  onPublish?(channel: string, event: StoredEvent, appendMs: number): void;
  /** A keyed publish whose key the log already had: nothing was stored or fanned out again. */
  onDuplicate?(channel: string, event: StoredEvent): void;
  onDeliver?(channel: string, subscribers: number): void;
  onSubscribe?(channel: string, resumed: boolean): void;
  onUnsubscribe?(channel: string, reason: EndReason): void;
  onReplay?(channel: string, events: number): void;
  onHistoryGone?(channel: string): void;
  /** A subscriber's delivery policy dropped `count` events. */
  onDrop?(channel: string, count: number, policy: DeliveryPolicy): void;
}

export interface HubOptions {
  /** Where events are stored; defaults to an in-memory log. */
  log?: EventLog | undefined;
  /** Live events a subscriber may have waiting before it is cut off (default 1024). */
  maxQueue?: number | undefined;
  /** Events read from the log per replay page (default 256). */
  replayPageSize?: number | undefined;
  hooks?: HubHooks | undefined;
}

export interface PublishOptions {
  /**
   * Publishes at most once per key (for `keyTtlMs`, default 24 h): a repeat
   * gets the first publish's event back and stores nothing. Inside a
   * mutation called with an Idempotency-Key the server supplies keys itself.
   * Needs a log with `appendOnce` (memory, SQLite, Redis).
   */
  key?: string | undefined;
  keyTtlMs?: number | undefined;
}

export interface SubscribeOptions<T> {
  /**
   * Resume after this id (a client's lastEventId); omit for live events only.
   * `"0"` (START_EVENT_ID) means before the first event: every retained one.
   */
  after?: string | null | undefined;
  /** Deliver only payloads for which this returns true (replay and live alike). */
  filter?: ((payload: T) => boolean) | undefined;
  /** Ends the subscription when aborted (tRPC passes the request's signal). */
  signal?: AbortSignal | undefined;
  /** What happens when this subscriber falls behind its queue bound (default cut-and-resume). */
  policy?: DeliveryPolicy | undefined;
  /** The key `latest-per-key` keeps the newest event of (e.g. the city). */
  key?: ((payload: T) => string) | undefined;
}

export interface Hub {
  readonly log: EventLog;
  /**
   * Validates, stores, then fans out an event. Resolves once the log has it.
   * Inside a mutation called with an Idempotency-Key (or with `opts.key`),
   * the event and its key are stored atomically, and a repeat of the call
   * gets the stored event back without publishing again.
   *
   * @example
   * const { id } = await hub.publish(readings, { city: 'Oslo', celsius: -3, at: new Date() });
   */
  publish<S extends z.ZodType>(
    channel: Channel<S>,
    payload: z.input<S>,
    opts?: PublishOptions,
  ): Promise<StoredEvent<z.output<S>>>;
  /**
   * Opens a subscription for a tRPC subscription resolver: stored events after
   * `after`, then live ones. Resolves once the resume id has been checked, so a
   * bad or expired id is refused before any stream starts.
   *
   * @example
   * t.procedure
   *   .input(z.object({ lastEventId: z.string().optional() }))
   *   .subscription(({ input, signal }) => hub.subscribe(readings, { after: input.lastEventId, signal }));
   */
  subscribe<S extends z.ZodType>(
    channel: Channel<S>,
    opts?: SubscribeOptions<z.output<S>>,
  ): Promise<HubSubscription<z.output<S>>>;
  /** Live subscribers per channel. */
  stats(): { channels: Record<string, number>; subscribers: number };
  /** Ends every subscription with the retryable DRAINING error and refuses new ones. */
  drain(): void;
  /** Drains, then closes the log. */
  close(): Promise<void>;
}

interface ChannelEntry {
  subs: Set<HubSubscription<any>>;
  untail?: (() => void) | undefined;
}

/**
 * Creates the hub: the one place where events are ordered, stored and fanned out.
 *
 * @example
 * const hub = createHub({ log: createMemoryLog() });
 */
export function createHub(opts: HubOptions = {}): Hub {
  const log = opts.log ?? createMemoryLog();
  const maxQueue = opts.maxQueue ?? 1024;
  const pageSize = opts.replayPageSize ?? 256;
  const hooks = opts.hooks ?? {};
  const channels = new Map<string, ChannelEntry>();
  let draining = false;
  let closed = false;

  const fanOut = (name: string, event: StoredEvent) => {
    const entry = channels.get(name);
    if (!entry) return;
    for (const sub of entry.subs) sub.push(event);
    hooks.onDeliver?.(name, entry.subs.size);
  };

  const entryFor = (name: string): ChannelEntry => {
    let entry = channels.get(name);
    if (!entry) {
      entry = { subs: new Set() };
      channels.set(name, entry);
      if (log.tail) {
        const current = entry;
        current.untail = log.tail(
          name,
          (event) => fanOut(name, event),
          (error) => {
            for (const sub of current.subs)
              sub.end('store-error', CorbelError.from(error, 'STORE_UNAVAILABLE'));
          },
        );
      }
    }
    return entry;
  };

  // The callbacks every subscription of this hub shares.
  const subscriptionEnded = (sub: HubSubscription<any>, reason: EndReason) =>
    detach(sub.channel, sub, reason);
  const replayed = (n: number, sub: HubSubscription<any>) => hooks.onReplay?.(sub.channel, n);
  const droppedBy = (n: number, sub: HubSubscription<any>) =>
    hooks.onDrop?.(sub.channel, n, sub.policy ?? 'cut-and-resume');

  const detach = (name: string, sub: HubSubscription<any>, reason: EndReason) => {
    const entry = channels.get(name);
    if (!entry) return;
    if (entry.subs.delete(sub)) hooks.onUnsubscribe?.(name, reason);
    if (entry.subs.size === 0) {
      entry.untail?.();
      channels.delete(name);
    }
  };

  return {
    log,
    async publish(channel, payload, publishOpts) {
      if (closed) throw new CorbelError('CLOSED', 'the hub is closed');
      const parsed = channel.schema.safeParse(payload);
      if (!parsed.success) {
        throw new CorbelError(
          'INVALID_PAYLOAD',
          `payload for ${channel.name} is invalid: ${parsed.error.message}`,
          {
            cause: parsed.error,
          },
        );
      }
      // Taken before the first await, so the n-th publish of a keyed call has
      // the n-th key on every run of it.
      const keyed =
        publishOpts?.key !== undefined
          ? {
              key: publishKeyOf(`hub\0${publishOpts.key}`),
              ttlMs: publishOpts.keyTtlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs,
            }
          : nextPublishKey();
      const started = performance.now();
      let event: StoredEvent;
      try {
        if (keyed && log.appendOnce) {
          const once = await log.appendOnce(channel.name, parsed.data, keyed.key, keyed.ttlMs);
          if (once.duplicate) {
            hooks.onDuplicate?.(channel.name, once.event);
            return once.event as StoredEvent<any>;
          }
          event = once.event;
        } else {
          event = await log.append(channel.name, parsed.data);
        }
      } catch (error) {
        throw CorbelError.from(error, 'STORE_UNAVAILABLE');
      }
      hooks.onPublish?.(channel.name, event, performance.now() - started);
      // A shared log delivers through its tail, in the log's own order.
      if (!log.tail) fanOut(channel.name, event);
      return event as StoredEvent<any>;
    },

    async subscribe(channel, subOpts = {}) {
      if (draining || closed)
        throw new CorbelError('DRAINING', 'the server is shutting down; reconnect elsewhere');
      // The start cursor (a channel that had no events when a long poll read its head): everything retained.
      // A resume id as a stream sent it may carry a drop count (`<id>!<n>`): the event id is before it.
      const asked = subOpts.after == null ? undefined : parseDeliveryId(subOpts.after).eventId;
      const fromStart = asked === START_EVENT_ID;
      const after = fromStart ? undefined : asked;
      const name = channel.name;
      // The start cursor is checked too: a log that trimmed the channel's first events has lost some.
      if (after !== undefined || fromStart) {
        try {
          await log.checkResumeId(name, after ?? START_EVENT_ID);
        } catch (error) {
          const corbel = CorbelError.from(error, 'STORE_UNAVAILABLE');
          if (corbel.corbelCode === 'HISTORY_GONE') hooks.onHistoryGone?.(name);
          throw corbel;
        }
      }
      if (subOpts.signal?.aborted) throw new CorbelError('CLOSED', 'the subscriber went away');
      // Nothing made here closes over the subscriber's options or signal: the
      // callbacks are the hub's own (see subscriptionEnded), so an idle
      // subscriber keeps only its subscription object.
      const sub = new HubSubscription<any>(
        {
          log,
          channel: name,
          after,
          fromStart,
          filter: subOpts.filter,
          maxQueue,
          pageSize,
          onEnd: subscriptionEnded,
          onReplay: replayed,
          policy: subOpts.policy,
          keyOf: subOpts.key,
          onDrop: droppedBy,
        },
        subOpts.signal,
      );
      entryFor(name).subs.add(sub);
      hooks.onSubscribe?.(name, after !== undefined || fromStart);
      return sub;
    },

    stats() {
      const out: Record<string, number> = {};
      let total = 0;
      for (const [name, entry] of channels) {
        out[name] = entry.subs.size;
        total += entry.subs.size;
      }
      return { channels: out, subscribers: total };
    },

    drain() {
      draining = true;
      for (const entry of [...channels.values()]) {
        for (const sub of [...entry.subs]) {
          sub.end(
            'draining',
            new CorbelError('DRAINING', 'the server is shutting down; reconnect to resume'),
          );
        }
      }
    },

    async close() {
      if (closed) return;
      this.drain();
      closed = true;
      await log.close();
    },
  };
}
