import type { ServerResponse } from 'node:http';
import {
  HubSubscription,
  isBatchIterable,
  isReadyIterable,
  pullBatch,
  pullReady,
  START_EVENT_ID,
} from '@corbel/core/internal';
import { isTrackedEnvelope, TRPCError } from '@trpc/server';
import type { CorbelMetrics } from '../metrics.js';
import { sendError } from './error-response.js';
import { sendJson } from './respond.js';
import { SseFrameEncoder } from './sse-frame-encoder.js';
import { getTRPCErrorFromUnknown, type RouterBridge } from './trpc-bridge.js';

/** How long a poll waits for its first event when the client names no wait (ms). */
export const LONG_POLL_DEFAULT_WAIT_MS = 25_000;
/** The longest wait a client may ask for: below the idle timeouts of common proxies (ms). */
export const LONG_POLL_MAX_WAIT_MS = 30_000;
/** Events per answer at most. */
export const LONG_POLL_MAX_EVENTS = 256;
/** Body size past which an answer takes no further batch: small enough for any proxy. */
export const LONG_POLL_MAX_BYTES = 256 * 1024;
/** Events taken from the source per pull, so the byte bound is overshot by a few events at most. */
const PULL = 32;
/** How long a poll that waits for nothing live still waits for a backlog page from the store. */
const REPLAY_WAIT_MS = 10_000;

/**
 * The input a subscription procedure is called with: the client's own input
 * with the resume id it sent (header or query) as `lastEventId`, which wins
 * over one inside the input. Streams, long polls and piggybacks read it alike.
 *
 * @example
 * withResumeId({ city: 'Oslo' }, '42'); // { city: 'Oslo', lastEventId: '42' }
 */
export function withResumeId(input: unknown, lastEventId: string | null): unknown {
  if (lastEventId === null) return input;
  if (typeof input === 'object' && input !== null) return { ...input, lastEventId };
  return input ?? { lastEventId };
}

// A poll's answer depends on when it was asked: no cache may keep or reuse it.
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The reason a poll's (or piggyback's) procedure signal ends with: one shared
 * value, as `abort()` without one builds a DOMException (and its stack) per poll.
 */
export const POLL_ANSWERED: Error = Object.freeze(new Error('the long poll was answered'));

/** What a long-poll request asked for. */
export interface LongPollRequest {
  /** How long to wait for the first event (ms, 0 answers at once). */
  waitMs: number;
  /** The resume id the client sent, if any. */
  lastEventId: string | null;
}

/**
 * Reads the long-poll parameters of a subscription GET: `longPoll=1`, and
 * optionally `wait=<ms>`. Null for an ordinary event-stream request; a bad
 * or oversized wait is a BAD_REQUEST, refused before the procedure runs.
 *
 * @example
 * longPollRequestOf(new URL('http://h/rpc/weather.readings?longPoll=1&wait=1000'), null);
 * // { waitMs: 1000, lastEventId: null }
 */
export function longPollRequestOf(url: URL, lastEventId: string | null): LongPollRequest | null {
  if (url.search === '') return null;
  const flag = url.searchParams.get('longPoll');
  if (flag === null) return null;
  if (flag !== '1' && flag !== 'true') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'longPoll must be 1 (or true) when present' });
  }
  const wait = url.searchParams.get('wait');
  let waitMs = LONG_POLL_DEFAULT_WAIT_MS;
  if (wait !== null) {
    waitMs = /^[0-9]{1,9}$/.test(wait) ? Number(wait) : Number.NaN;
    if (!Number.isInteger(waitMs) || waitMs > LONG_POLL_MAX_WAIT_MS) {
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: `wait must be a whole number of milliseconds from 0 to ${LONG_POLL_MAX_WAIT_MS}, got "${wait.slice(0, 40)}"`,
      });
    }
  }
  return { waitMs, lastEventId };
}

export interface LongPollAnswer {
  bridge: RouterBridge;
  /** The response (the answer names the request's id, read through `res.req`). */
  res: ServerResponse;
  /** What the subscription procedure returned. */
  source: AsyncIterable<unknown>;
  request: LongPollRequest;
  /** The request's abort controller (what the procedure sees as `signal`). */
  abort: AbortController;
  /** The error document's shape (reported like any other error). */
  errorShape: (error: TRPCError) => unknown;
  /** The procedure's path, and the server's metrics when it keeps them. */
  path?: string | undefined;
  metrics?: CorbelMetrics | undefined;
}

/** What a collection of events came to: the answer's `data` as JSON, or a failure before any event. */
export interface CollectedEvents {
  /** `{"events":[…],"lastEventId":…,"more":…,"done":…}` (also set when `failure` is). */
  data: string;
  count: number;
  /** An error that came before any event (after some, it shows again on the next poll). */
  failure: TRPCError | undefined;
}

/** Bounds of one collection. */
export interface CollectBounds {
  maxEvents: number;
  maxBytes: number;
}

const POLL_BOUNDS: CollectBounds = { maxEvents: LONG_POLL_MAX_EVENTS, maxBytes: LONG_POLL_MAX_BYTES };

/**
 * Takes what a subscription has for a poll: every ready event (bounded), or,
 * when none is ready, the first ones to arrive within `request.waitMs`; then
 * closes the subscription. Shared by long polls and piggybacked events.
 *
 * @example
 * const { data, failure } = await collectEvents(bridge, source, { waitMs: 0, lastEventId }, signal);
 */
export async function collectEvents(
  bridge: RouterBridge,
  source: AsyncIterable<unknown>,
  request: LongPollRequest,
  signal: AbortSignal,
  bounds: CollectBounds = POLL_BOUNDS,
): Promise<CollectedEvents> {
  const hub = source instanceof HubSubscription ? (source as HubSubscription<unknown>) : undefined;
  const parts: string[] = [];
  let bytes = 0;
  let lastId: string | undefined;
  let done = false;
  let more = false;
  let failure: TRPCError | undefined;
  // Without a resume id a subscription is live only: the channel's newest id,
  // read once the subscription is registered, is where the next poll resumes
  // when this one gets nothing (anything newer is in its queue).
  let head: string | null = null;
  const puller = pullerOf(source);
  try {
    if (hub && request.lastEventId === null) head = await hub.latestId();
    const deadline = Date.now() + request.waitMs;
    const encoder = SseFrameEncoder.of(bridge);
    for (;;) {
      const wait = parts.length > 0 ? 0 : deadline - Date.now();
      const batch = await puller.next(Math.min(PULL, bounds.maxEvents - parts.length), wait, signal);
      if (batch === null) {
        done = true;
        break;
      }
      if (batch === undefined) break;
      for (const value of batch) {
        const json = encoder.entryOf(value);
        parts.push(json);
        bytes += json.length + 1;
        if (isTrackedEnvelope(value)) lastId = value[0];
      }
      if (parts.length >= bounds.maxEvents || bytes >= bounds.maxBytes) {
        more = true;
        break;
      }
    }
  } catch (cause) {
    failure = getTRPCErrorFromUnknown(cause);
  } finally {
    puller.close();
  }
  // The hub's position also counts events its filter skipped: resuming there saves re-reading them.
  // A hub channel with no events yet: the start cursor, so the first events are not missed either.
  const cursor = hub?.position ?? lastId ?? request.lastEventId ?? head ?? (hub ? START_EVENT_ID : null);
  return {
    data: `{"events":[${parts.join(',')}],"lastEventId":${JSON.stringify(cursor ?? null)},"more":${more},"done":${done}}`,
    count: parts.length,
    failure: parts.length === 0 ? failure : undefined,
  };
}

/**
 * Answers one long poll: every ready event after the client's id (bounded in
 * count and bytes), or, when none is ready, the first ones to arrive within
 * the wait; then a complete JSON document with the id to resume from. The
 * subscription is closed before the answer goes out, so a client between two
 * polls holds nothing on the server.
 *
 * @example
 * await answerLongPoll({ bridge, res, source, request, abort, errorShape });
 */
export async function answerLongPoll(a: LongPollAnswer): Promise<void> {
  const { bridge, res, source, request, abort } = a;
  const answered = a.metrics?.longPollHeld(a.path ?? 'unknown');
  const { data, count, failure } = await collectEvents(bridge, source, request, abort.signal);
  answered?.(count, failure !== undefined);
  // The poll is over: end the procedure's signal too. Closing the iterator is
  // not enough for an async generator suspended in its own `for await` (its
  // return() waits for the next event), so its `finally` (e.g. a session's
  // stream count) would otherwise run only when an event comes.
  abort.abort(POLL_ANSWERED);
  if (failure) {
    sendError(res, bridge, failure, { shape: a.errorShape(failure), headers: NO_STORE });
    return;
  }
  sendJson(res, 200, `{"result":{"data":${data}}}`, NO_STORE);
}

interface Puller {
  /** Ready values (up to `max`), null at the end, undefined when nothing came within `waitMs`. */
  next(max: number, waitMs: number, signal: AbortSignal): Promise<unknown[] | null | undefined>;
  close(): void;
}

/** Pulls from whatever the procedure returned: the hub's ready pulls, batch pulls, or a plain iterator. */
function pullerOf(source: AsyncIterable<unknown>): Puller {
  if (isReadyIterable(source)) {
    // A hub subscription reading its backlog has no ready events yet but will
    // have some as soon as the page is read: even a poll that waits for
    // nothing live waits for that (bounded).
    const replaying = () => source instanceof HubSubscription && source.replaying;
    return {
      next: (max, waitMs, signal) =>
        new Promise((resolve, reject) => {
          let settled = false;
          const settle = (value: unknown[] | null | undefined, error?: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal.removeEventListener('abort', gone);
            if (error !== undefined) reject(error);
            else resolve(value);
          };
          const gone = () => settle(undefined);
          const wake = (): void => {
            if (settled) return;
            try {
              const value = source[pullReady](max, wake);
              if (value !== undefined) settle(value);
              // Nothing ready and no page being read: a poll that waits for nothing live answers now
              // (also when the page it waited for brought nothing).
              else if (waitMs <= 0 && !replaying()) settle(undefined);
            } catch (error) {
              settle(undefined, error);
            }
          };
          const timer = setTimeout(gone, waitMs > 0 ? waitMs : REPLAY_WAIT_MS);
          signal.addEventListener('abort', gone, { once: true });
          wake();
        }),
      close: () => {
        source[Symbol.asyncIterator]()
          .return?.()
          ?.catch(() => {});
      },
    };
  }
  const iterator = source[Symbol.asyncIterator]();
  // A pull still pending when a wait ends: the next call takes it over, never a second one.
  let pending: Promise<unknown[] | null> | undefined;
  const pull = (max: number): Promise<unknown[] | null> =>
    isBatchIterable(source)
      ? source[pullBatch](max)
      : iterator.next().then((r) => (r.done ? null : [r.value]));
  return {
    next: async (max, waitMs, signal) => {
      pending ??= pull(max);
      let timer: NodeJS.Timeout | undefined;
      const gone = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, waitMs));
        signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      try {
        const value = await Promise.race([pending, gone]);
        if (value !== undefined) pending = undefined;
        return value;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => {
      pending?.catch(() => {});
      iterator.return?.()?.catch(() => {});
    },
  };
}
