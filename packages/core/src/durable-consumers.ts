import { randomUUID } from 'node:crypto';
import type { TrackedEnvelope } from '@trpc/server';
import type { z } from 'zod';
import type { Channel } from './channel.js';
import { ConsumerGroup, type GroupSettings } from './consumer-group.js';
import { type ConsumerPositions, consumerKey } from './consumer-positions.js';
import { CorbelError } from './errors.js';
import type { Hub } from './hub.js';
import { START_EVENT_ID } from './subscription.js';

/** Observability hooks for durable consumers; each optional, called synchronously. */
export interface DurableConsumerHooks {
  /** An unacknowledged event was handed out again (ack timeout, or its member left). */
  onRedeliver?(channel: string): void;
  /** A consumer came back after its idle TTL and was told HISTORY_GONE. */
  onExpired?(channel: string): void;
}

export interface DurableConsumersOptions {
  hub: Hub;
  /** Where positions are kept (memory, SQLite, Redis). */
  positions: ConsumerPositions;
  /** An event handed out and not acknowledged within this is delivered again (default 30 s). */
  ackTimeoutMs?: number | undefined;
  /** Unacknowledged events one member may hold (default 256); the rest wait in the log. */
  maxInFlight?: number | undefined;
  /**
   * How long a consumer's state stays in this process after its last member
   * left (default 5 s): acknowledgements still in flight from a member that
   * just died are applied, and a member that reconnects at once rejoins it.
   */
  lingerMs?: number | undefined;
  hooks?: DurableConsumerHooks | undefined;
  /** This instance's id in consumer claims (default: a random UUID per service). */
  instanceId?: string | undefined;
  /**
   * How long this instance's claim on a consumer lasts unless renewed
   * (default 15 s; renewed every third of it while the group is here). A
   * member opening on another instance meanwhile is refused with CONSUMER_ELSEWHERE.
   */
  claimLeaseMs?: number | undefined;
}

export interface DurableSubscribeOptions<T> {
  /** The identity subscribing: consumer names are scoped to it. */
  owner: string;
  /** The consumer's name, e.g. `billing`. */
  name: string;
  /** Events this returns false for are skipped (and count as acknowledged). The first member's filter is the group's. */
  filter?: ((payload: T) => boolean) | undefined;
  /**
   * The ordering key of an event (e.g. its city): in a group, every event of
   * one key goes to the same member while the membership is stable.
   */
  key?: ((payload: T) => string) | undefined;
  signal?: AbortSignal | undefined;
}

export interface DurableConsumers {
  /**
   * Joins the consumer `name` of `owner` on a channel (creating it at the
   * channel's newest event): resolves to a stream of `tracked(<event id>~<delivery>, payload)`
   * holding every event the consumer has not acknowledged. Several streams
   * under one name form a group and share the events. A consumer idle past
   * the TTL, or whose position is no longer retained, is refused with
   * HISTORY_GONE (and starts afresh at the next subscribe). A consumer whose
   * group another instance coordinates (its claim in a shared store has not
   * lapsed) is refused with CONSUMER_ELSEWHERE (retryable).
   *
   * @example
   * t.procedure
   *   .input(z.object({ consumer: z.string() }))
   *   .subscription(({ input, signal }) => consumers.subscribe(readings, { owner: 'alice', name: input.consumer, signal }));
   */
  subscribe<S extends z.ZodType>(
    channel: Channel<S>,
    opts: DurableSubscribeOptions<z.output<S>>,
  ): Promise<AsyncIterable<TrackedEnvelope<z.output<S>>>>;
  /**
   * Acknowledges events (event ids or delivery ids); returns how many were
   * pending here. The position moves past every event acknowledged without a gap.
   *
   * @example
   * await consumers.ack('alice', 'billing', 'weather.readings', ['4f2a91c0-7~1']);
   */
  ack(owner: string, name: string, channel: string, ids: readonly string[]): Promise<number>;
  /** Consumers with state in this process, their live members and unacknowledged events. */
  stats(): { consumers: number; members: number; unacked: number };
  /** Ends every member with DRAINING and saves every position. */
  close(): Promise<void>;
}

/**
 * Creates the durable-consumer service over a hub: the server remembers each
 * consumer's acknowledged position, redelivers what was not acknowledged, and
 * shares a consumer's events among its members.
 *
 * @example
 * const consumers = createDurableConsumers({ hub, positions: store.consumers });
 */
export function createDurableConsumers(opts: DurableConsumersOptions): DurableConsumers {
  const { hub, positions } = opts;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
  const maxInFlight = opts.maxInFlight ?? 256;
  const lingerMs = opts.lingerMs ?? 5000;
  const hooks = opts.hooks ?? {};
  const instance = opts.instanceId ?? randomUUID();
  const leaseMs = opts.claimLeaseMs ?? 15_000;
  const groups = new Map<string, ConsumerGroup<any>>();
  const opening = new Map<string, Promise<ConsumerGroup<any>>>();
  // The last save of a consumer that left this process: a new group reads the store after it.
  const finalSaves = new Map<string, Promise<void>>();
  let closed = false;
  const settings: GroupSettings = {
    hub,
    positions,
    ackTimeoutMs,
    maxInFlight,
    lingerMs,
    hooks,
    instance,
    leaseMs,
    onStop(group, saved) {
      if (groups.get(group.key) === group) groups.delete(group.key);
      finalSaves.set(group.key, saved);
      void saved.then(() => {
        if (finalSaves.get(group.key) === saved) finalSaves.delete(group.key);
      });
    },
  };

  async function openGroup<T>(
    channel: Channel<any>,
    key: string,
    sub: DurableSubscribeOptions<T>,
  ): Promise<ConsumerGroup<T>> {
    await finalSaves.get(key);
    const claim = await positions.claim(key, instance, leaseMs);
    if (claim.holder !== instance) {
      throw new CorbelError(
        'CONSUMER_ELSEWHERE',
        `consumer "${sub.name}" on ${channel.name} is coordinated by another instance (its claim lapses within ${Math.max(0, claim.expiresAt - Date.now())} ms unless renewed); reconnect to that instance, or retry here`,
      );
    }
    try {
      return await openClaimed(channel, key, sub);
    } catch (error) {
      await positions.release(key, instance).catch(() => {});
      throw error;
    }
  }

  async function openClaimed<T>(
    channel: Channel<any>,
    key: string,
    sub: DurableSubscribeOptions<T>,
  ): Promise<ConsumerGroup<T>> {
    const found = await positions.get(key);
    if (found && found.expiresAt <= Date.now()) {
      await positions.delete(key);
      hooks.onExpired?.(channel.name);
      throw new CorbelError(
        'HISTORY_GONE',
        `consumer "${sub.name}" on ${channel.name} was idle longer than ${positions.ttlMs} ms and expired; subscribe again to start from now`,
      );
    }
    let acked: string;
    let delivered: string;
    if (found) {
      ({ acked, delivered } = found);
      if (acked !== START_EVENT_ID) {
        try {
          await hub.log.checkResumeId(channel.name, acked);
        } catch (error) {
          const corbel = CorbelError.from(error, 'STORE_UNAVAILABLE');
          if (corbel.corbelCode === 'HISTORY_GONE' || corbel.corbelCode === 'INVALID_EVENT_ID') {
            await positions.delete(key);
            throw new CorbelError(
              'HISTORY_GONE',
              `consumer "${sub.name}" on ${channel.name} is at ${acked}, which is no longer retained; subscribe again to start from now`,
              { cause: error },
            );
          }
          throw corbel;
        }
      }
    } else {
      acked = (await hub.log.latestId(channel.name)) ?? START_EVENT_ID;
      delivered = acked;
      await positions.save(key, { acked, delivered });
    }
    return new ConsumerGroup<T>(settings, key, channel, acked, delivered, sub.filter, sub.key);
  }

  return {
    async subscribe(channel, sub) {
      if (closed) throw new CorbelError('DRAINING', 'the server is shutting down; reconnect elsewhere');
      const key = consumerKey(sub.owner, sub.name, channel.name);
      let group = groups.get(key);
      if (!group) {
        let pending = opening.get(key);
        if (!pending) {
          pending = openGroup(channel, key, sub);
          opening.set(key, pending);
          void pending.then(
            (g) => {
              groups.set(key, g);
              opening.delete(key);
            },
            () => opening.delete(key),
          );
        }
        group = await pending;
        groups.set(key, group);
      }
      if (sub.signal?.aborted) throw new CorbelError('CLOSED', 'the subscriber went away');
      return group.join(sub.signal);
    },

    async ack(owner, name, channel, ids) {
      return groups.get(consumerKey(owner, name, channel))?.ack(ids) ?? 0;
    },

    stats() {
      let members = 0;
      let unacked = 0;
      for (const g of groups.values()) {
        members += g.members.length;
        unacked += g.unacked;
      }
      return { consumers: groups.size, members, unacked };
    },

    async close() {
      closed = true;
      const all = [...groups.values()];
      for (const g of all)
        g.endAll(new CorbelError('DRAINING', 'the server is shutting down; reconnect to resume'));
      await Promise.all(all.map((g) => g.stop()));
    },
  };
}
