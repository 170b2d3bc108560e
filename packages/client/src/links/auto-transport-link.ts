import { type Operation, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { type PollAnswer, pollEvents } from '../long-poll.js';
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
 * newest id (one poll that does not wait): that id is where the subscription
 * starts, whatever transport carries it. The stream waits up to `heldBackMs`
 * for it and then starts without it; the poll is not given up. Until an
 * event has been delivered, a stream that started without its answer starts
 * again from it when it comes, and long polls start only once it has come
 * (or failed): while it is unanswered too, a silent stream means a server
 * that answers nothing, not a proxy, and the stream is tried again (on the
 * next instance, with several). The protocol cannot ask for "everything since
 * I subscribed" without an id: a subscription whose opening poll fails
 * starts at the first answer it gets (the stream's `connected` frame, or the
 * first poll's id). The opening poll's events are delivered, and its end ends
 * the subscription, only when every event has an id; otherwise (a plain
 * generator) the stream runs the procedure from its start.
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
        // Whether the subscription's start point is fixed: by its own id, the opening
        // poll's answer, or a delivered event. Until then a late opening answer restarts
        // whatever transport runs without it.
        let settled = cursor !== undefined;
        let closed = false;
        let stream: { unsubscribe(): void; connected(): boolean } | undefined;
        let restartStreamOnConnect = false;
        let openingPending = false;
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
          if (typeof id === 'string') {
            cursor = id;
            settled = true;
          }
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
        const stopStream = () => {
          clearTimeout(timer);
          restartStreamOnConnect = false;
          stream?.unsubscribe();
          stream = undefined;
        };

        const startStream = () => {
          if (closed) return;
          let active = true;
          let connected = false;
          const arm = () => {
            clearTimeout(timer);
            timer = setTimeout(() => {
              if (!active || connected || closed) return;
              stopStream();
              if (openingPending) {
                // The opening poll, a plain JSON answer any proxy passes, is unanswered too: the
                // server (not a proxy) is not answering, and polls would not help. Try the stream
                // again; with several instances the abandoned attempt moved the client on.
                deliver({
                  result: {
                    type: 'state',
                    state: 'connecting',
                    error: new TRPCClientError(
                      `the server answered neither the event stream nor a poll for ${heldBackMs} ms; connecting again`,
                    ),
                    transport: 'sse',
                  },
                });
                startStream();
                return;
              }
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
                  if (restartStreamOnConnect) {
                    // Started before the opening poll answered, which it now has: connect
                    // again from its id (unsubscribing a connected stream blames no instance).
                    stopStream();
                    startStream();
                    return;
                  }
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
            connected: () => connected,
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

        // The opening poll's answer: where a subscription without an id starts. Its
        // events are delivered (and its end ends the subscription) only where every event
        // has an id, so no transport delivers them again; a stream already running
        // without it, having delivered nothing, starts again from its id. (Polls never
        // run without it: they start only once it has been answered or has failed.)
        const settle = (answer: PollAnswer | undefined) => {
          if (closed || settled || answer === undefined) return;
          settled = true;
          // An event without an id cannot be resumed after: the stream runs the
          // procedure from its start and delivers it, so the poll's copy is dropped.
          if (!answer.events.every((event) => event.id !== undefined)) return;
          for (const event of answer.events) {
            deliver({ result: { id: event.id, data: { id: event.id, data: event.data } } });
          }
          if (answer.done) {
            // The procedure has ended (a finished job's snapshot): a stream from
            // its last id would wait for an event that never comes.
            stopStream();
            deliver({ result: { type: 'stopped' } });
            deliver({ result: { type: 'state', state: 'idle', error: null } });
            complete();
            return;
          }
          if (answer.lastEventId !== null) cursor = answer.lastEventId;
          if (stream?.connected()) {
            stopStream();
            startStream();
          } else if (stream) restartStreamOnConnect = true;
        };

        const start = async () => {
          if (!settled) {
            const opening = pollEvents(opts.fetch, opts, {
              url: opts.url,
              path: op.path,
              input: op.input,
              lastEventId: undefined,
              waitMs: 0,
              // Not bounded: however late its answer comes, it is where the subscription starts.
              signal: teardown.signal,
            })
              .then(settle, () => {
                // The stream reports whatever is wrong (bad input, credentials) as it always does.
              })
              .finally(() => {
                openingPending = false;
              });
            openingPending = true;
            // A server that does not answer at once is left to the stream (and its held-back clock).
            await Promise.race([opening, delay(heldBackMs, teardown.signal)]);
            if (closed) return;
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

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
