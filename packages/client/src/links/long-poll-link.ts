import { type Operation, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { AuthOptions } from '../auth.js';
import { pollEvents } from '../long-poll.js';
import { reconnectDelayMs, shouldReconnect } from '../retry-policy.js';

export interface LongPollLinkOptions extends AuthOptions {
  /** The RPC base URL, e.g. http://127.0.0.1:4000/rpc. */
  url: string;
  fetch: typeof fetch;
  /** How long each poll waits for its first event (default 25 s, at most 30 s). */
  waitMs?: number | undefined;
  /** Longest wait between attempts after a failure (default 5 s). */
  maxReconnectDelayMs?: number | undefined;
}

/** The resume id in a subscription's input (where tRPC's links keep it). */
export function lastEventIdOf(input: unknown): string | undefined {
  const id = (input as { lastEventId?: unknown } | null | undefined)?.lastEventId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * A terminating link that runs subscriptions as long polls (protocol.md
 * section 4.4) instead of an event stream: each answer's events go to the app
 * as tracked results, exactly as the SSE link delivers them, and the next poll
 * resumes from the id the answer named. Failures are retried here with
 * backoff, from that id, under the same policy as streams; final ones (e.g.
 * HISTORY_GONE) end the subscription with the server's error.
 *
 * @example
 * splitLink({ condition: (op) => op.type === 'subscription', true: longPollLink({ url, fetch }), false: httpBatchLink({ url }) })
 */
export function longPollLink<TRouter extends AnyTRPCRouter>(opts: LongPollLinkOptions): TRPCLink<TRouter> {
  return () =>
    ({ op }) =>
      observable((observer) => {
        const ac = new AbortController();
        const signal = op.signal ? AbortSignal.any([op.signal, ac.signal]) : ac.signal;
        void runPolls(op, opts, signal, {
          next: (value) => {
            if (!signal.aborted) observer.next(value as never);
          },
          error: (error) => {
            if (!signal.aborted) observer.error(error);
          },
          complete: () => {
            if (!signal.aborted) observer.complete();
          },
        });
        return () => ac.abort();
      });
}

/** Where a poll loop delivers: results for the app, and its cursor as it moves. */
export interface PollSink {
  next(value: unknown): void;
  error(error: TRPCClientError<any>): void;
  complete(): void;
  /** The id the next poll resumes from, after every answer that names one. */
  cursor?(id: string): void;
}

const canRefresh = (opts: AuthOptions) => typeof opts.getToken === 'function';

/**
 * Polls for one subscription until it ends, fails for good, is aborted, or
 * (with `until`) a poll returns after that time: then it resolves 'expired'
 * so the caller can try the event stream again from the cursor.
 *
 * @example
 * await runPolls(op, { url, fetch }, signal, { next, error, complete });
 */
export async function runPolls(
  op: Operation,
  opts: LongPollLinkOptions,
  signal: AbortSignal,
  sink: PollSink,
  until?: number,
): Promise<'ended' | 'expired'> {
  let cursor: string | null | undefined = lastEventIdOf(op.input);
  let live = false;
  let attempts = 0;
  sink.next({ result: { type: 'state', state: 'connecting', error: null, transport: 'long-poll' } });
  while (!signal.aborted) {
    try {
      const answer = await pollEvents(opts.fetch, opts, {
        url: opts.url,
        path: op.path,
        input: op.input,
        lastEventId: cursor,
        // The first poll (and the first after a failure) does not wait: its answer
        // says at once that polling works, so the app hears "live" now, not at the first event.
        waitMs: live ? (opts.waitMs ?? 25_000) : 0,
        signal,
      });
      if (signal.aborted) return 'ended';
      attempts = 0;
      if (!live) {
        live = true;
        sink.next({ result: { type: 'started' } });
        sink.next({ result: { type: 'state', state: 'pending', error: null, transport: 'long-poll' } });
      }
      for (const event of answer.events) {
        sink.next(
          event.id === undefined
            ? { result: { data: event.data } }
            : { result: { id: event.id, data: { id: event.id, data: event.data } } },
        );
      }
      if (answer.lastEventId !== null) {
        cursor = answer.lastEventId;
        sink.cursor?.(cursor);
      }
      if (answer.done) {
        sink.next({ result: { type: 'stopped' } });
        sink.next({ result: { type: 'state', state: 'idle', error: null } });
        sink.complete();
        return 'ended';
      }
      if (until !== undefined && Date.now() >= until) return 'expired';
    } catch (cause) {
      if (signal.aborted) return 'ended';
      const error = cause instanceof TRPCClientError ? cause : TRPCClientError.from(cause as Error);
      attempts++;
      if (!shouldReconnect(error, attempts, canRefresh(opts))) {
        sink.error(error);
        return 'ended';
      }
      live = false;
      sink.next({ result: { type: 'state', state: 'connecting', error, transport: 'long-poll' } });
      await sleep(reconnectDelayMs(error, attempts, opts.maxReconnectDelayMs), signal);
    }
  }
  return 'ended';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
