import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { lastEventIdOf } from './links/long-poll-link.js';
import { decodePollData, type PolledEvent } from './long-poll.js';

// The request and response headers of protocol.md section 4.5.
const PATH_HEADER = 'corbel-piggyback';
const INPUT_HEADER = 'corbel-piggyback-input';
const LAST_EVENT_ID_HEADER = 'corbel-piggyback-last-event-id';
const EVENTS_HEADER = 'corbel-events';
/** An input past this (encoded) is not sent in a header: proxies refuse large headers. */
const MAX_INPUT_CHARS = 2048;

/** One live subscription that commands may carry events for. */
interface Rider {
  path: string;
  /** The input without its resume id, superjson and URI-encoded ('' for none). */
  input: string;
  /** The id of the newest event the app has received (undefined: none yet). */
  cursor: string | undefined;
  /**
   * False when its input is too large for a header, or once it sent an event
   * without an id (such events cannot be matched up): commands then carry none for it.
   */
  eligible: boolean;
  /** Takes a piggybacked answer read after `after`. */
  offer(events: PolledEvent[], after: string): void;
}

export interface Piggyback {
  /** The link for subscriptions: merges piggybacked events into each one, once. */
  link<TRouter extends AnyTRPCRouter>(): TRPCLink<TRouter>;
  /** Wraps the fetch of commands: asks for one subscription's events, and hands them over. */
  commandFetch(fetchFn: typeof fetch): typeof fetch;
}

/**
 * The client side of piggybacked events (protocol.md section 4.5). Every
 * command asks, in turn, for one live subscription's events after the last
 * id the app received, and the events in its answer go to that
 * subscription. Two in-order sources of the same events — the transport and
 * the answers — are merged by id: an event reaches the app only when it
 * follows the newest one the app has, so none is lost and none comes twice,
 * and the transport, once behind, skips what the answers already delivered
 * until it catches up. A subscription takes part once it has an id (its
 * input's `lastEventId` or its first event) and while its events have ids.
 *
 * @example
 * const pb = createPiggyback();
 * const links = [splitLink({ condition: isSubscription, true: [pb.link(), sse], false: httpLink({ url, fetch: pb.commandFetch(fetch) }) })];
 */
export function createPiggyback(): Piggyback {
  const riders = new Set<Rider>();
  let turn = 0;

  const next = (): Rider | undefined => {
    const ready: Rider[] = [];
    for (const rider of riders) if (rider.eligible && rider.cursor !== undefined) ready.push(rider);
    return ready.length === 0 ? undefined : ready[turn++ % ready.length];
  };

  return {
    link:
      () =>
      () =>
      ({ op, next: forward }) =>
        observable((observer) => {
          if (op.type !== 'subscription') return forward(op).subscribe(observer);
          const input = encodeInput(op.input);
          const initial = lastEventIdOf(op.input);
          // The id of the transport's newest event: when it differs from the app's, the transport is behind.
          let transportLast = initial;
          const rider: Rider = {
            path: op.path,
            input: input ?? '',
            cursor: initial,
            eligible: input !== undefined,
            offer(events, after) {
              let from = 0;
              if (after !== rider.cursor) {
                // The app moved on while the command was out: only what follows its newest event is new.
                from = events.findIndex((e) => e.id === rider.cursor) + 1;
                if (from === 0) return;
              }
              for (const event of events.slice(from)) {
                if (event.id === undefined) return;
                rider.cursor = event.id;
                observer.next({
                  result: { id: event.id, data: { id: event.id, data: event.data } },
                } as never);
              }
            },
          };
          riders.add(rider);
          const sub = forward(op).subscribe({
            next(value) {
              const id = (value.result as { id?: unknown }).id;
              const isData = value.result.type === undefined || value.result.type === 'data';
              if (!isData) return observer.next(value);
              if (typeof id !== 'string') {
                rider.eligible = false;
                return observer.next(value);
              }
              const behind = transportLast !== rider.cursor;
              transportLast = id;
              if (behind) return;
              rider.cursor = id;
              observer.next(value);
            },
            error(error) {
              riders.delete(rider);
              observer.error(error);
            },
            complete() {
              riders.delete(rider);
              observer.complete();
            },
          });
          return () => {
            riders.delete(rider);
            sub.unsubscribe();
          };
        }),

    commandFetch: (fetchFn) => async (url, init) => {
      const rider = next();
      if (!rider) return fetchFn(url, init);
      const after = rider.cursor!;
      const headers = new Headers(init?.headers);
      headers.set(PATH_HEADER, rider.path);
      if (rider.input !== '') headers.set(INPUT_HEADER, rider.input);
      headers.set(LAST_EVENT_ID_HEADER, after);
      const res = await fetchFn(url, { ...init, headers });
      const carried = res.headers.get(EVENTS_HEADER);
      if (carried !== null && riders.has(rider)) {
        let events: PolledEvent[] | undefined;
        try {
          events = decodePollData(JSON.parse(Buffer.from(carried, 'base64url').toString('utf8'))).events;
        } catch {
          // A header mangled on the way: the transport delivers these events anyway.
        }
        if (events) rider.offer(events, after);
      }
      return res;
    },
  };
}

/** The subscription's input without its resume id, as the header carries it; undefined when too large. */
function encodeInput(input: unknown): string | undefined {
  let rest = input;
  if (rest !== null && typeof rest === 'object' && 'lastEventId' in rest) {
    const copy: Record<string, unknown> = { ...(rest as Record<string, unknown>) };
    delete copy.lastEventId;
    rest = copy;
  }
  if (rest === undefined) return '';
  const encoded = encodeURIComponent(JSON.stringify(superjson.serialize(rest)));
  return encoded.length > MAX_INPUT_CHARS ? undefined : encoded;
}
