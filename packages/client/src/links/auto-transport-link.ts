import { type Operation, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { pollEvents } from '../long-poll.js';
import { type LongPollLinkOptions, lastEventIdOf, runPolls } from './long-poll-link.js';

export interface AutoTransportLinkOptions extends LongPollLinkOptions {
  /** The event-stream link tried first (and again later): tRPC's httpSubscriptionLink. */
  sse: TRPCLink<any>;
  /** A stream that has not sent its `connected` frame after this long is held back (default 4 s). */
  heldBackMs?: number | undefined;
  /** After this long on long polling, the stream is tried again (default 60 s). */
  sseRetryMs?: number | undefined;
}

/**
 * A terminating link that delivers each subscription over an event stream
 * when it can and over long polls when it must. A stream that sends nothing,
 * not even its `connected` frame, within `heldBackMs` is being held back (a
 * buffering proxy): the link drops it and polls from the last id the app
 * received, so no event is lost or repeated; it tries the stream again every
 * `sseRetryMs`. State changes say which transport is live
 * (`transport: 'sse' | 'long-poll'`).
 *
 * A subscription that starts without an id first asks for the channel's
 * newest id (one poll that does not wait), so a stream held back from the
 * start loses nothing either: it resumes from there. That poll's events are
 * delivered, and its end ends the subscription, only when every event has an
 * id; otherwise (a plain generator) the stream runs the procedure from its start.
 *
 * @example
 * autoTransportLink({ url, fetch, sse: httpSubscriptionLink({ url, transformer: superjson, EventSource }) })
 */
export function autoTransportLink<TRouter extends AnyTRPCRouter>(
  opts: AutoTransportLinkOptions,
): TRPCLink<TRouter> {
  const heldBackMs = opts.heldBackMs ?? 4000;
  const sseRetryMs = opts.sseRetryMs ?? 60_000;
  return (runtime) => {
    const sse = opts.sse(runtime);
    return ({ op }) =>
      observable((observer) => {
        let cursor = lastEventIdOf(op.input);
        let closed = false;
        let stream: { unsubscribe(): void } | undefined;
        let polls: AbortController | undefined;
        let timer: NodeJS.Timeout | undefined;
        const teardown = new AbortController();

        const withCursor = (): Operation => ({
          ...op,
          input:
            cursor === undefined ? op.input : { ...(op.input as object | undefined), lastEventId: cursor },
        });
        const deliver = (value: any) => {
          if (closed) return;
          const id = value?.result?.id;
          if (typeof id === 'string') cursor = id;
          observer.next(value);
        };
        const fail = (error: TRPCClientError<any>) => {
          if (closed) return;
          closed = true;
          observer.error(error);
        };
        const complete = () => {
          if (closed) return;
          closed = true;
          observer.complete();
        };

        const startStream = () => {
          if (closed) return;
          let active = true;
          let connected = false;
          const arm = () => {
            clearTimeout(timer);
            timer = setTimeout(() => {
              if (!active || connected || closed) return;
              active = false;
              sub.unsubscribe();
              startPolls(
                new TRPCClientError(
                  `the event stream sent nothing for ${heldBackMs} ms (a proxy may be holding it back); switching to long polling`,
                ),
              );
            }, heldBackMs);
          };
          const sub = sse({ op: withCursor(), next: () => observable(() => {}) }).subscribe({
            next(value: any) {
              if (!active) return;
              const result = value?.result;
              if (result?.type === 'state') {
                if (result.state === 'pending') {
                  connected = true;
                  clearTimeout(timer);
                  deliver({ ...value, result: { ...result, transport: 'sse' } });
                  return;
                }
                // A stream that reconnects must connect again in time, too. A
                // failed attempt (a refused connection while the server restarts)
                // is an answer, not silence: the clock starts again with the next try.
                if (result.state === 'connecting' && (connected || result.error)) {
                  connected = false;
                  arm();
                }
              }
              deliver(value);
            },
            error(error) {
              if (!active) return;
              active = false;
              clearTimeout(timer);
              fail(error);
            },
            complete() {
              if (!active) return;
              active = false;
              clearTimeout(timer);
              complete();
            },
          });
          stream = {
            unsubscribe: () => {
              active = false;
              sub.unsubscribe();
            },
          };
          arm();
        };

        const startPolls = (why: TRPCClientError<any>) => {
          if (closed) return;
          deliver({ result: { type: 'state', state: 'connecting', error: why, transport: 'long-poll' } });
          polls = new AbortController();
          const signal = AbortSignal.any([polls.signal, teardown.signal]);
          void runPolls(
            withCursor(),
            opts,
            signal,
            {
              next: (value: any) => {
                // The loop's opening "connecting" was said above, with the reason.
                if (
                  value?.result?.type === 'state' &&
                  value.result.state === 'connecting' &&
                  !value.result.error
                )
                  return;
                deliver(value);
              },
              error: fail,
              complete,
              cursor: (id) => {
                cursor = id;
              },
            },
            Date.now() + sseRetryMs,
          ).then((outcome) => {
            if (outcome === 'expired' && !closed && !teardown.signal.aborted) startStream();
          });
        };

        // Where a subscription without an id starts: the channel's newest id.
        // The opening poll runs the procedure once already, so its answer is
        // used only where the stream can take over from it exactly.
        const start = async () => {
          if (cursor === undefined) {
            let answer: Awaited<ReturnType<typeof pollEvents>> | undefined;
            try {
              answer = await pollEvents(opts.fetch, opts, {
                url: opts.url,
                path: op.path,
                input: op.input,
                lastEventId: undefined,
                waitMs: 0,
                // Bounded like the stream's first frame: a server that does not answer
                // at once is left to the stream (and its held-back clock).
                signal: AbortSignal.any([teardown.signal, AbortSignal.timeout(heldBackMs)]),
              });
            } catch {
              // The stream reports whatever is wrong (bad input, credentials) as it always does.
            }
            if (closed) return;
            // An event without an id cannot be resumed after: the stream runs the
            // procedure from its start and delivers it, so the poll's copy is dropped.
            if (answer?.events.every((event) => event.id !== undefined)) {
              for (const event of answer.events) {
                deliver({ result: { id: event.id, data: { id: event.id, data: event.data } } });
              }
              if (answer.done) {
                // The procedure has ended (a finished job's snapshot): a stream from
                // its last id would wait for an event that never comes.
                deliver({ result: { type: 'stopped' } });
                deliver({ result: { type: 'state', state: 'idle', error: null } });
                complete();
                return;
              }
              if (answer.lastEventId !== null) cursor = answer.lastEventId;
            }
          }
          startStream();
        };
        void start();

        return () => {
          closed = true;
          clearTimeout(timer);
          teardown.abort();
          polls?.abort();
          stream?.unsubscribe();
        };
      });
  };
}
