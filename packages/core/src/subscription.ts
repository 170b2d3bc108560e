import type { TrackedEnvelope } from '@trpc/server';
import { tracked } from '@trpc/server';
import { droppedId } from './delivery-id.js';
import { applyDeliveryPolicy, type DeliveryPolicy, replaceSameKey } from './delivery-policy.js';
import { CorbelError } from './errors.js';
import type { EventLog, StoredEvent } from './event-log.js';

/**
 * The cursor before a channel's first event. A long poll of a channel with no
 * events yet answers it as the id to resume from, so a client that polls (or
 * falls back to polling) before the first event misses none; the hub reads
 * every retained event after it. Never an event id of any store.
 */
export const START_EVENT_ID = '0';

/** Why a subscription ended, for metrics and logs. */
export type EndReason = 'client-gone' | 'slow-consumer' | 'draining' | 'store-error' | 'done';

// One envelope per stored event, shared by every subscriber: the serving path
// caches the serialized frame on it, so an event is serialized once per publish.
const envelopes = new WeakMap<StoredEvent, TrackedEnvelope<unknown>>();

/** The tRPC `tracked()` envelope of a stored event (created once, then shared). */
export function envelopeOf<T>(event: StoredEvent<T>): TrackedEnvelope<T> {
  // Every subscriber asks for the same event in turn: remember the last one.
  if (event === lastEvent) return lastEnvelope as TrackedEnvelope<T>;
  let env = envelopes.get(event);
  if (!env) {
    env = tracked(event.id, event.payload);
    envelopes.set(event, env);
  }
  lastEvent = event;
  lastEnvelope = env;
  return env as TrackedEnvelope<T>;
}
let lastEvent: StoredEvent | undefined;
let lastEnvelope: TrackedEnvelope<unknown> | undefined;

// Wakes are batched per turn of the event loop: a subscriber that was pushed
// several events during one turn is woken once, after it, and its stream
// writes them together (one write and one syscall instead of one per event).
// One immediate serves every subscriber, so a publish to N subscribers costs
// N queue pushes, not N promise resolutions plus N separate writes.
const pendingWakes: (() => void)[] = [];
let wakeScheduled = false;
const defer: (fn: () => void) => void = globalThis.setImmediate ?? ((fn) => setTimeout(fn, 0));

function flushWakes(): void {
  wakeScheduled = false;
  const wakes = pendingWakes.splice(0, pendingWakes.length);
  for (const wake of wakes) wake();
}

function scheduleWake(wake: () => void): void {
  pendingWakes.push(wake);
  if (!wakeScheduled) {
    wakeScheduled = true;
    defer(flushWakes);
  }
}

const NOTHING_READY = Symbol('nothing ready');
// The empty result of a take: shared, never handed out (callers check the length).
const NONE: readonly never[] = Object.freeze([]);

/** Marks iterables that can hand over several ready events at once. */
export const pullBatch = Symbol.for('corbel.pullBatch');

/** An async iterable that can also deliver ready items in batches (coalesced writes). */
export interface BatchIterable<T> extends AsyncIterable<T> {
  [pullBatch](max: number): Promise<T[] | null>;
}

/**
 * Marks batch iterables whose ready items can be taken without a promise:
 * `[pullReady](max, wake)` returns the ready items, null at the end (throwing
 * the end's error once), or undefined when none are ready, and then calls
 * `wake` once when there may be some. The serving path pumps streams with it,
 * so an idle subscriber holds no suspended async function and a delivery
 * costs no promise.
 */
export const pullReady = Symbol.for('corbel.pullReady');

export interface ReadyIterable<T> extends BatchIterable<T> {
  [pullReady](max: number, wake: () => void): T[] | null | undefined;
}

/** True when `value` offers promise-free pulls. */
export function isReadyIterable<T = unknown>(value: unknown): value is ReadyIterable<T> {
  return isBatchIterable(value) && typeof (value as any)[pullReady] === 'function';
}

/** True when `value` offers batched pulls. */
export function isBatchIterable<T = unknown>(value: unknown): value is BatchIterable<T> {
  return typeof value === 'object' && value !== null && typeof (value as any)[pullBatch] === 'function';
}

export interface SubscriptionInit<T> {
  log: EventLog;
  channel: string;
  after: string | undefined;
  /** Replay every retained event (the start cursor), though `after` is undefined. */
  fromStart?: boolean | undefined;
  filter: ((payload: T) => boolean) | undefined;
  maxQueue: number;
  pageSize: number;
  // The callbacks get the subscription, so a hub passes the same functions to
  // all of its subscriptions: closures per subscriber were memory per subscriber.
  onEnd: (sub: HubSubscription<T>, reason: EndReason) => void;
  onReplay?: ((count: number, sub: HubSubscription<T>) => void) | undefined;
  /** What a full live queue does (default cut-and-resume). */
  policy?: DeliveryPolicy | undefined;
  /** The key `latest-per-key` coalesces by. */
  keyOf?: ((payload: T) => string) | undefined;
  /** Events dropped by the policy (count of this drop). */
  onDrop?: ((count: number, sub: HubSubscription<T>) => void) | undefined;
}

/**
 * One subscriber's view of a channel: the stored events after its resume id,
 * then live ones, with no gap and no duplicate.
 *
 * The live listener is registered before the first log read; live events that
 * arrive during the replay wait in a bounded queue and are dropped when their
 * id is at or below the last replayed one. If that queue overflows during the
 * replay the subscriber simply reads the log once more (everything live is in
 * the log); if it overflows while live, the subscriber is cut off with the
 * retryable SLOW_CONSUMER error and resumes from the log when it reconnects.
 */
export class HubSubscription<T> implements ReadyIterable<TrackedEnvelope<T>> {
  private phase: 'replay' | 'live';
  private lastId: string | undefined;
  private queue: StoredEvent<T>[] = [];
  private replayPage: StoredEvent<T>[] = [];
  private lostDuringReplay = false;
  // Ids need comparing only while a live event may repeat a replayed one:
  // once one live event is past the last replayed id, the rest are too.
  private dedupe: boolean;
  private ended: { reason: EndReason; error?: Error | undefined } | null = null;
  private wake: (() => void) | null = null;
  private finished = false;
  private dropped = 0;
  // The drop count the subscriber was last told (on the id of an event it received).
  private droppedTold = 0;

  // The signal that ends this subscription, held weakly: only to stop
  // listening when the subscription ends first. Whoever can abort the signal
  // holds it; when nobody does, it can never fire, and a server that ends the
  // subscription itself need not keep a signal (and its controller) per
  // subscriber alive just for this.
  private readonly signal: WeakRef<AbortSignal> | undefined;

  /** `signal` ends the subscription (as `client-gone`) when it aborts. */
  constructor(
    private readonly init: SubscriptionInit<T>,
    signal?: AbortSignal,
  ) {
    this.lastId = init.after;
    const replay = init.after !== undefined || init.fromStart === true;
    this.phase = replay ? 'replay' : 'live';
    this.dedupe = replay;
    this.fromStart = init.fromStart === true;
    if (signal) {
      this.signal = new WeakRef(signal);
      // The subscription is its own listener: no closure per subscriber.
      signal.addEventListener('abort', this, { once: true });
    }
  }

  /** The channel this subscription reads. */
  get channel(): string {
    return this.init.channel;
  }

  /** The delivery policy it was asked for, if any. */
  get policy(): DeliveryPolicy | undefined {
    return this.init.policy;
  }

  /** @internal The abort listener of its signal (an EventListener object): ends the subscription. */
  handleEvent(): void {
    this.end('client-gone');
  }

  /** Live delivery from the hub; never blocks the publisher. */
  push(event: StoredEvent<T>): void {
    if (this.ended) return;
    if (this.init.filter && !this.init.filter(event.payload)) return;
    // latest-per-key: a newer event of a key replaces its older one still waiting (only while behind).
    if (this.init.policy === 'latest-per-key' && this.phase === 'live' && this.queue.length > 0) {
      const replaced = replaceSameKey(this.queue, event, this.init.keyOf);
      if (replaced) {
        this.dropped++;
        this.init.onDrop?.(1, this);
        this.notify();
        return;
      }
    }
    if (this.queue.length >= this.init.maxQueue) {
      if (this.phase === 'replay') {
        // The log has these events; read it again instead of holding them.
        this.queue.length = 0;
        this.lostDuringReplay = true;
        return;
      }
      const policy = this.init.policy ?? 'cut-and-resume';
      if (policy !== 'cut-and-resume') {
        const n = applyDeliveryPolicy(this.queue, event, policy, this.init.keyOf);
        this.dropped += n;
        this.init.onDrop?.(n, this);
        this.notify();
        return;
      }
      this.end(
        'slow-consumer',
        new CorbelError(
          'SLOW_CONSUMER',
          `subscriber on ${this.init.channel} fell ${this.init.maxQueue} events behind and was cut off; resume from ${this.lastId ?? 'the start'}`,
        ),
      );
      return;
    }
    this.queue.push(event);
    this.notify();
  }

  /** Ends the subscription; with an error, the consumer's next pull throws it. */
  end(reason: EndReason, error?: Error): void {
    if (this.ended) return;
    this.ended = { reason, error };
    this.queue.length = 0;
    this.replayPage.length = 0;
    this.notify();
    this.finish();
  }

  /** Events this subscription's delivery policy has dropped so far. */
  get droppedCount(): number {
    return this.dropped;
  }

  get endReason(): EndReason | undefined {
    return this.ended?.reason;
  }

  /**
   * The id this subscription has consumed up to (delivered, or skipped by its
   * filter during the replay): where a new subscription resumes without a gap.
   * Undefined when it started live and nothing has arrived yet. Long polls
   * answer it as the id to resume from.
   */
  get position(): string | undefined {
    return this.lastId ?? (this.fromStart ? START_EVENT_ID : undefined);
  }
  private readonly fromStart: boolean;

  /** True while stored events are still to be read (a pull may then need a log read). */
  get replaying(): boolean {
    return this.phase === 'replay' || this.replayPage.length > 0;
  }

  /** The channel's newest id in the log, read now (null when it has none). */
  latestId(): Promise<string | null> {
    return this.init.log.latestId(this.init.channel);
  }

  private notify() {
    const wake = this.wake;
    if (!wake) return;
    this.wake = null;
    scheduleWake(wake);
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.signal?.deref()?.removeEventListener('abort', this);
    this.init.onEnd(this, this.ended?.reason ?? 'done');
  }

  /**
   * One step of the pump: ready events, null at the end (the end's error is
   * thrown, once), a promise while a replay page is read, or NOTHING_READY.
   */
  private step(max: number): TrackedEnvelope<T>[] | null | Promise<void> | typeof NOTHING_READY {
    for (;;) {
      if (this.ended) {
        if (this.ended.error) {
          const error = this.ended.error;
          // Report the error once; later pulls see a finished stream.
          this.ended = { reason: this.ended.reason };
          throw error;
        }
        return null;
      }
      // The last page is drained even once the phase has turned live.
      if (this.replayPage.length > 0) {
        const out = this.take(this.replayPage, max, true);
        if (out.length > 0) return out;
        continue;
      }
      if (this.phase === 'replay') return this.readPage();
      const out = this.take(this.queue, max, false);
      return out.length > 0 ? out : NOTHING_READY;
    }
  }

  /** Reads the next replay page (never rejects: a store error ends the subscription). */
  private async readPage(): Promise<void> {
    this.lostDuringReplay = false;
    let page: StoredEvent<T>[];
    try {
      page = (await this.init.log.read(this.init.channel, {
        after: this.lastId,
        limit: this.init.pageSize,
      })) as StoredEvent<T>[];
    } catch (error) {
      this.end('store-error', CorbelError.from(error, 'STORE_UNAVAILABLE'));
      return;
    }
    if (this.ended) return;
    if (page.length < this.init.pageSize && !this.lostDuringReplay) this.phase = 'live';
    this.replayPage = page;
    this.init.onReplay?.(page.length, this);
  }

  async [pullBatch](max: number): Promise<TrackedEnvelope<T>[] | null> {
    for (;;) {
      const step = this.step(max);
      if (step === NOTHING_READY) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      } else if (step instanceof Promise) {
        await step;
      } else {
        return step;
      }
    }
  }

  [pullReady](max: number, wake: () => void): TrackedEnvelope<T>[] | null | undefined {
    const step = this.step(max);
    if (step === NOTHING_READY) {
      this.wake = wake;
      return undefined;
    }
    if (step instanceof Promise) {
      step.then(wake);
      return undefined;
    }
    return step;
  }

  /** Takes up to `max` events from `source`, skipping ids already delivered. */
  private take(source: StoredEvent<T>[], max: number, applyFilter: boolean): TrackedEnvelope<T>[] {
    if (source.length === 0) return NONE as unknown as TrackedEnvelope<T>[];
    const out: TrackedEnvelope<T>[] = [];
    let i = 0;
    const log = this.init.log;
    for (; i < source.length && out.length < max; i++) {
      const event = source[i]!;
      if (this.dedupe && this.lastId !== undefined) {
        if (log.compareIds(event.id, this.lastId) <= 0) continue;
        if (!applyFilter) this.dedupe = false;
      }
      this.lastId = event.id;
      if (applyFilter && this.init.filter && !this.init.filter(event.payload)) continue;
      if (this.dropped !== this.droppedTold) {
        // The first event after a drop says how many so far; its envelope is this subscriber's own.
        this.droppedTold = this.dropped;
        out.push(tracked(droppedId(event.id, this.dropped), event.payload));
        continue;
      }
      out.push(envelopeOf(event));
    }
    source.splice(0, i);
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<TrackedEnvelope<T>> {
    let buffer: TrackedEnvelope<T>[] = [];
    return {
      next: async () => {
        if (buffer.length === 0) {
          const batch = await this[pullBatch](64);
          if (batch === null) return { done: true, value: undefined };
          buffer = batch;
        }
        return { done: false, value: buffer.shift()! };
      },
      return: async () => {
        this.end('client-gone');
        return { done: true, value: undefined };
      },
    };
  }
}
