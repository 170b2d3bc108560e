import type { TrackedEnvelope } from '@trpc/server';
import { tracked } from '@trpc/server';
import type { Channel } from './channel.js';
import type { ConsumerPositions } from './consumer-positions.js';
import { deliveryId, parseDeliveryId } from './delivery-id.js';
import type { DurableConsumerHooks } from './durable-consumers.js';
import { CorbelError } from './errors.js';
import type { Hub } from './hub.js';
import { type BatchIterable, type HubSubscription, pullBatch, START_EVENT_ID } from './subscription.js';

/** What every group of one durable-consumer service shares. */
export interface GroupSettings {
  hub: Hub;
  positions: ConsumerPositions;
  ackTimeoutMs: number;
  maxInFlight: number;
  lingerMs: number;
  hooks: DurableConsumerHooks;
  /** This instance's id in the consumers' claims. */
  instance: string;
  /** How long a claim lasts unless renewed; a group renews its claim every third of it. */
  leaseMs: number;
  /** The group let go of its state (no member for `lingerMs`, or closing); `saved` is its final save. */
  onStop(group: ConsumerGroup<any>, saved: Promise<void>): void;
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
 * One durable consumer's state in this process: its members, the events read
 * after its acknowledged position (in log order), who holds which, and the
 * timers that redeliver overdue events and keep the position from expiring
 * while members are connected. `createDurableConsumers` makes one per
 * consumer that has members here.
 *
 * @example
 * const group = new ConsumerGroup(settings, 'alice\nbilling\nweather.readings', readings, acked, delivered, undefined, undefined);
 * const stream = group.join(signal);
 */
export class ConsumerGroup<T> {
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
  private finalSave: Promise<void> | null = null;
  private lostClaim = false;

  constructor(
    private readonly s: GroupSettings,
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
      Math.max(10, Math.min(1000, this.s.ackTimeoutMs / 4)),
    );
    // Keeps a consumer with live members from expiring while nothing is published.
    // Idle time counts from when the last member left (the final save), not while any is connected.
    const touch = setInterval(
      () => {
        if (this.members.length > 0) void this.save();
      },
      Math.max(10, Math.min(60_000, this.s.positions.ttlMs / 3)),
    );
    // Keeps the claim while this instance holds the group (lingering included: late acknowledgements still save).
    const renew = setInterval(() => void this.renewClaim(), Math.max(10, this.s.leaseMs / 3));
    redeliver.unref?.();
    touch.unref?.();
    renew.unref?.();
    this.timers.push(redeliver, touch, renew);
  }

  /**
   * Renews this instance's claim on the consumer. A store that does not answer
   * is tried again at the next tick; a claim found with another instance (it
   * lapsed while the store was away and was taken) ends the group here, so
   * two instances never coordinate it at once.
   */
  private async renewClaim(): Promise<void> {
    if (this.stopped) return;
    let holder: string;
    try {
      ({ holder } = await this.s.positions.claim(this.key, this.s.instance, this.s.leaseMs));
    } catch {
      return;
    }
    if (holder === this.s.instance || this.stopped) return;
    this.lostClaim = true;
    this.endAll(
      new CorbelError(
        'CONSUMER_ELSEWHERE',
        `consumer on ${this.channel.name} is now coordinated by another instance; reconnect`,
      ),
    );
    void this.stop();
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
      this.linger = setTimeout(() => this.stop(), this.s.lingerMs);
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
    const log = this.s.hub.log;
    this.pumping = true;
    while (!this.stopped && this.members.length > 0) {
      // Bounded by what it holds, acknowledged-behind-a-gap included, so memory stays bounded.
      if (this.window.length >= this.members.length * this.s.maxInFlight) {
        await new Promise<void>((resolve) => {
          this.room = resolve;
        });
        continue;
      }
      try {
        this.sub ??= (await this.s.hub.subscribe(this.channel, { after: this.readTo })) as HubSubscription<T>;
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
    this.waiting.sort((a, b) => this.s.hub.log.compareIds(a.id, b.id));
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
      if (m.inFlight < this.s.maxInFlight && (!best || m.inFlight < best.inFlight)) {
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
      if (!member || member.inFlight >= this.s.maxInFlight) return;
      this.waiting.shift();
      if (entry.deliveries > 0) this.s.hooks.onRedeliver?.(this.channel.name);
      if (entry.key !== undefined) {
        if (holder) holder.outstanding++;
        else this.keyHolders.set(entry.key, { member, outstanding: 1 });
      }
      entry.member = member;
      entry.deliveries++;
      entry.sentAt = Date.now();
      member.inFlight++;
      member.queue.push(entry);
      if (this.delivered === START_EVENT_ID || this.s.hub.log.compareIds(entry.id, this.delivered) > 0)
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
      if (!e.acked && e.member && now - e.sentAt >= this.s.ackTimeoutMs) overdue.push(e);
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
        await this.s.positions.save(this.key, { acked: this.acked, delivered: this.delivered }).catch(() => {
          // The next acknowledgement or touch saves again; the events stay unacknowledged meanwhile.
        });
      } while (this.dirty);
      this.saving = null;
    })();
    return this.saving;
  }

  stop(): Promise<void> {
    if (this.stopped) return this.finalSave ?? Promise.resolve();
    this.stopped = true;
    if (this.linger) clearTimeout(this.linger);
    for (const t of this.timers) clearInterval(t);
    this.sub?.end('client-gone');
    const room = this.room;
    this.room = null;
    room?.();
    // The claim goes only after the final save, so the next holder reads the newest position.
    // After losing the claim the position is the new holder's to write: no final save.
    this.finalSave = this.lostClaim
      ? Promise.resolve()
      : this.save().then(() => this.s.positions.release(this.key, this.s.instance).catch(() => {}));
    this.s.onStop(this, this.finalSave);
    return this.finalSave;
  }
}
