import type { TrackedEnvelope } from '@trpc/server';
import { tracked } from '@trpc/server';
import type { z } from 'zod';
import type { Channel } from './channel.js';
import { type ConsumerPositions, consumerKey } from './consumer-positions.js';
import { deliveryId, parseDeliveryId } from './delivery-id.js';
import { CorbelError } from './errors.js';
import type { Hub } from './hub.js';
import { type BatchIterable, type HubSubscription, pullBatch, START_EVENT_ID } from './subscription.js';

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
   * HISTORY_GONE (and starts afresh at the next subscribe).
   *
   * @example
   * .subscription(({ input, signal }) => consumers.subscribe(readings, { owner: 'alice', name: input.consumer, signal }))
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

interface Entry<T> {
  id: string;
  payload: T;
  key: string | undefined;
  acked: boolean;
  member: Member<T> | null;
  deliveries: number;
  sentAt: number;
}

interface Member<T> {
  queue: Entry<T>[];
  inFlight: number;
  wake: (() => void) | null;
  closed: boolean;
  error: Error | undefined;
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
  const groups = new Map<string, Group<any>>();
  const opening = new Map<string, Promise<Group<any>>>();
  // The last save of a consumer that left this process: a new group reads the store after it.
  const finalSaves = new Map<string, Promise<void>>();
  let closed = false;

  class Group<T> {
    readonly members: Member<T>[] = [];
    private readonly window: Entry<T>[] = [];
    private readonly byId = new Map<string, Entry<T>>();
    private readonly waiting: Entry<T>[] = [];
    // Which member holds a key's outstanding events, and how many: a key is never at two members at once.
    private readonly keyHolders = new Map<string, { member: Member<T>; outstanding: number }>();
    private nextMember = 0;
    private sub: HubSubscription<T> | null = null;
    private readTo: string;
    private room: (() => void) | null = null;
    private saving: Promise<void> | null = null;
    private dirty = false;
    private linger: ReturnType<typeof setTimeout> | null = null;
    private readonly timers: ReturnType<typeof setInterval>[] = [];
    private stopped = false;
    private pumping = false;

    constructor(
      readonly key: string,
      readonly channel: Channel<any>,
      private acked: string,
      private delivered: string,
      private readonly filter: ((payload: T) => boolean) | undefined,
      private readonly keyOf: ((payload: T) => string) | undefined,
    ) {
      this.readTo = acked;
      const redeliver = setInterval(
        () => this.redeliverOverdue(),
        Math.max(10, Math.min(1000, ackTimeoutMs / 4)),
      );
      // Keeps a consumer with live members from expiring while nothing is published.
      // Idle time counts from when the last member left (the final save), not while any is connected.
      const touch = setInterval(
        () => {
          if (this.members.length > 0) void this.save();
        },
        Math.max(10, Math.min(60_000, positions.ttlMs / 3)),
      );
      redeliver.unref?.();
      touch.unref?.();
      this.timers.push(redeliver, touch);
    }

    get unacked(): number {
      let n = 0;
      for (const e of this.window) if (!e.acked) n++;
      return n;
    }

    join(signal: AbortSignal | undefined): BatchIterable<TrackedEnvelope<T>> {
      if (this.linger) clearTimeout(this.linger);
      this.linger = null;
      const member: Member<T> = { queue: [], inFlight: 0, wake: null, closed: false, error: undefined };
      this.members.push(member);
      const onAbort = () => this.leave(member);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.pumping) void this.pump();
      this.drainWaiting();
      return this.streamOf(member, () => signal?.removeEventListener('abort', onAbort));
    }

    /**
     * A member's stream: ready deliveries in batches (the serving path writes
     * each batch at once), or one at a time through the async iterator.
     */
    private streamOf(member: Member<T>, unlisten: () => void): BatchIterable<TrackedEnvelope<T>> {
      const leave = () => {
        unlisten();
        this.leave(member);
      };
      const pull = async (max: number): Promise<TrackedEnvelope<T>[] | null> => {
        for (;;) {
          const out: TrackedEnvelope<T>[] = [];
          while (out.length < max && member.queue.length > 0) {
            const entry = member.queue.shift()!;
            // Acknowledged meanwhile, or handed to another member after a timeout.
            if (entry.acked || entry.member !== member) continue;
            out.push(tracked(deliveryId(entry.id, entry.deliveries), entry.payload));
          }
          if (out.length > 0) return out;
          if (member.closed) {
            const error = member.error;
            member.error = undefined;
            unlisten();
            if (error) throw error;
            return null;
          }
          await new Promise<void>((resolve) => {
            member.wake = resolve;
          });
        }
      };
      return {
        [pullBatch]: pull,
        [Symbol.asyncIterator]() {
          let buffer: TrackedEnvelope<T>[] = [];
          return {
            async next() {
              if (buffer.length === 0) {
                const batch = await pull(64).catch((error: unknown) => {
                  leave();
                  throw error;
                });
                if (batch === null) {
                  leave();
                  return { done: true, value: undefined };
                }
                buffer = batch;
              }
              return { done: false, value: buffer.shift()! };
            },
            async return() {
              leave();
              return { done: true, value: undefined };
            },
          };
        },
      };
    }

    leave(member: Member<T>, error?: Error): void {
      const at = this.members.indexOf(member);
      if (!member.closed) {
        member.closed = true;
        member.error = error;
        const wake = member.wake;
        member.wake = null;
        wake?.();
      }
      if (at < 0) return;
      this.members.splice(at, 1);
      // Its unacknowledged events go back to the front of the line, in log order.
      const orphans = this.window.filter((e) => e.member === member && !e.acked);
      for (const e of orphans) this.release(e);
      member.inFlight = 0;
      member.queue.length = 0;
      if (orphans.length > 0) this.requeue(orphans);
      this.drainWaiting();
      if (this.members.length === 0 && !this.stopped) {
        this.linger = setTimeout(() => this.stop(), lingerMs);
        this.linger.unref?.();
      }
    }

    /** Ends every member (with an error they see) and lets the group go. */
    endAll(error: Error): void {
      for (const m of [...this.members]) this.leave(m, error);
    }

    ack(ids: readonly string[]): number {
      let count = 0;
      for (const raw of ids) {
        const entry = this.byId.get(parseDeliveryId(raw).eventId);
        if (!entry || entry.acked) continue;
        entry.acked = true;
        this.release(entry);
        count++;
      }
      if (count === 0) return 0;
      this.advance();
      this.drainWaiting();
      this.save();
      const room = this.room;
      this.room = null;
      room?.();
      return count;
    }

    private advance(): void {
      while (this.window.length > 0 && this.window[0]!.acked) {
        const e = this.window.shift()!;
        this.byId.delete(e.id);
        this.acked = e.id;
      }
      if (this.window.length === 0) this.acked = this.readTo;
    }

    /** Reads the log after the position and hands events out, never holding more than the members can take. */
    private async pump(): Promise<void> {
      const log = hub.log;
      this.pumping = true;
      while (!this.stopped && this.members.length > 0) {
        // Bounded by what it holds, acknowledged-behind-a-gap included, so memory stays bounded.
        if (this.window.length >= this.members.length * maxInFlight) {
          await new Promise<void>((resolve) => {
            this.room = resolve;
          });
          continue;
        }
        try {
          this.sub ??= (await hub.subscribe(this.channel, { after: this.readTo })) as HubSubscription<T>;
          if (this.stopped) break;
          const batch = await this.sub[pullBatch](64);
          if (batch === null) {
            this.sub = null;
            continue;
          }
          for (const [id, payload] of batch) {
            this.readTo = id;
            const pass = this.filter ? this.filter(payload) : true;
            const before = this.delivered !== START_EVENT_ID && log.compareIds(id, this.delivered) <= 0;
            const entry: Entry<T> = {
              id,
              payload,
              key: pass && this.keyOf ? this.keyOf(payload) : undefined,
              acked: !pass,
              member: null,
              // Handed out before this process took the consumer over: the next delivery is a redelivery.
              deliveries: before ? 1 : 0,
              sentAt: 0,
            };
            this.window.push(entry);
            this.byId.set(id, entry);
            if (pass) this.waiting.push(entry);
          }
          this.advance();
          this.drainWaiting();
        } catch (error) {
          this.sub = null;
          const corbel = CorbelError.from(error, 'STORE_UNAVAILABLE');
          // Cut off as a slow consumer or a store hiccup: read the log again from where we were.
          if (corbel.corbelCode === 'SLOW_CONSUMER' || corbel.corbelCode === 'STORE_UNAVAILABLE') {
            await new Promise((resolve) => setTimeout(resolve, 100));
            continue;
          }
          this.endAll(corbel);
          break;
        }
      }
      this.sub?.end('client-gone');
      this.sub = null;
      this.pumping = false;
    }

    /** Puts taken-back events in line again, in log order among those waiting. */
    private requeue(entries: Entry<T>[]): void {
      this.waiting.unshift(...entries.filter((e) => !this.waiting.includes(e)));
      this.waiting.sort((a, b) => hub.log.compareIds(a.id, b.id));
    }

    /** Takes an event back from the member holding it (acknowledged, overdue, or the member left). */
    private release(entry: Entry<T>): void {
      const member = entry.member;
      if (!member) return;
      member.inFlight--;
      entry.member = null;
      if (entry.key === undefined) return;
      const holder = this.keyHolders.get(entry.key);
      if (holder && holder.member === member && --holder.outstanding <= 0) this.keyHolders.delete(entry.key);
    }

    /** The member with the fewest outstanding events, taking turns among equals; null when all are full. */
    private leastLoaded(): Member<T> | null {
      let best: Member<T> | null = null;
      let bestAt = 0;
      const n = this.members.length;
      for (let k = 0; k < n; k++) {
        const at = (this.nextMember + k) % n;
        const m = this.members[at]!;
        if (m.inFlight < maxInFlight && (!best || m.inFlight < best.inFlight)) {
          best = m;
          bestAt = at;
        }
      }
      if (best) this.nextMember = (bestAt + 1) % n;
      return best;
    }

    /**
     * Hands waiting events to members with room, in log order. An event with a
     * key goes to the member already holding that key's outstanding events, so
     * one key's events are processed one member at a time, in order.
     */
    private drainWaiting(): void {
      while (this.waiting.length > 0 && this.members.length > 0) {
        const entry = this.waiting[0]!;
        if (entry.acked || entry.member) {
          this.waiting.shift();
          continue;
        }
        const holder = entry.key === undefined ? undefined : this.keyHolders.get(entry.key);
        const member = holder ? holder.member : this.leastLoaded();
        // Head of line waits: later events must not overtake it (per-key order).
        if (!member || member.inFlight >= maxInFlight) return;
        this.waiting.shift();
        if (entry.deliveries > 0) hooks.onRedeliver?.(this.channel.name);
        if (entry.key !== undefined) {
          if (holder) holder.outstanding++;
          else this.keyHolders.set(entry.key, { member, outstanding: 1 });
        }
        entry.member = member;
        entry.deliveries++;
        entry.sentAt = Date.now();
        member.inFlight++;
        member.queue.push(entry);
        if (this.delivered === START_EVENT_ID || hub.log.compareIds(entry.id, this.delivered) > 0)
          this.delivered = entry.id;
        const wake = member.wake;
        member.wake = null;
        wake?.();
      }
    }

    private redeliverOverdue(): void {
      const now = Date.now();
      const overdue: Entry<T>[] = [];
      for (const e of this.window) {
        if (!e.acked && e.member && now - e.sentAt >= ackTimeoutMs) overdue.push(e);
      }
      if (overdue.length === 0) return;
      for (const e of overdue) {
        const queue = e.member!.queue;
        const at = queue.indexOf(e);
        if (at >= 0) queue.splice(at, 1);
        this.release(e);
      }
      this.requeue(overdue);
      this.drainWaiting();
    }

    /** Saves the position (coalesced: one write in flight, one more if it changed meanwhile). */
    save(): Promise<void> {
      if (this.saving) {
        this.dirty = true;
        return this.saving;
      }
      this.saving = (async () => {
        do {
          this.dirty = false;
          await positions.save(this.key, { acked: this.acked, delivered: this.delivered }).catch(() => {
            // The next acknowledgement or touch saves again; the events stay unacknowledged meanwhile.
          });
        } while (this.dirty);
        this.saving = null;
      })();
      return this.saving;
    }

    stop(): Promise<void> {
      if (this.stopped) return finalSaves.get(this.key) ?? Promise.resolve();
      this.stopped = true;
      if (this.linger) clearTimeout(this.linger);
      for (const t of this.timers) clearInterval(t);
      this.sub?.end('client-gone');
      const room = this.room;
      this.room = null;
      room?.();
      if (groups.get(this.key) === this) groups.delete(this.key);
      const saved = this.save();
      finalSaves.set(this.key, saved);
      void saved.then(() => {
        if (finalSaves.get(this.key) === saved) finalSaves.delete(this.key);
      });
      return saved;
    }
  }

  async function openGroup<T>(
    channel: Channel<any>,
    key: string,
    sub: DurableSubscribeOptions<T>,
  ): Promise<Group<T>> {
    await finalSaves.get(key);
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
    return new Group<T>(key, channel, acked, delivered, sub.filter, sub.key);
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
