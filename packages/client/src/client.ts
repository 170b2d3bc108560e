import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { type AuthOptions, authHeaders } from './auth.js';
import { connectTimeoutFetch } from './connect-timeout.js';
import { backingOffFetch, eventSourceFetch } from './event-source-fetch.js';
import { createInstancePool, failoverFetch, isRetrySafe } from './failover.js';
import { keyedBatchFallback } from './keyed-batch-fallback.js';
import { autoTransportLink } from './links/auto-transport-link.js';
import { finalErrorLink } from './links/final-error-link.js';
import { idempotencyKeyLink, idempotencyKeyOf, madeIdempotencyKey } from './links/idempotency-key-link.js';
import { longPollLink } from './links/long-poll-link.js';
import { type StateChange, stateLink } from './links/state-link.js';
import { timeoutLink } from './links/timeout-link.js';
import { type MutationRetryOptions, mutationRetryFetch } from './mutation-retry.js';
import { createNodeFetch, type TlsClientOptions } from './node-fetch.js';
import { createPiggyback } from './piggyback.js';
import { reconnectDelayMs, shouldReconnect } from './retry-policy.js';

export interface CorbelClientOptions extends AuthOptions {
  /**
   * The server's base URL (http://host:port); `basePath` is appended unless the URL already ends with it.
   * Several URLs (instances sharing one Redis log): the client uses the first and, when it cannot
   * be reached, moves to the next; streams resume there by id (see failover.ts).
   */
  url: string | readonly string[];
  /** Mutation paths that are safe to retry on another instance (beside `context: { idempotent: true }`). */
  idempotent?: readonly string[] | undefined;
  /**
   * Send every mutation with an `Idempotency-Key` (one per logical call, the
   * same on every retry and failover), batched with one key per call, and
   * retry it after a reset, a timeout or a 502/503/504 on any instance: the
   * server runs each call once.
   * Default true; false sends mutations batched and unkeyed, retried only
   * when never sent (or listed in `idempotent`). A call's own
   * `context: { idempotencyKey }` is always honoured (such a call is sent
   * alone, as its key may not be fit to share a batch).
   */
  idempotencyKeys?: boolean | undefined;
  /** How keyed mutations are retried (attempts, per-attempt timeout). */
  mutationRetry?: MutationRetryOptions | undefined;
  /** Where the router is mounted on the server (default "/rpc"). */
  basePath?: string | undefined;
  /** Queries and mutations fail after this long (default 30 s; 0 for never). */
  timeoutMs?: number | undefined;
  /** Called whenever a subscription connects, goes live, reconnects or closes. */
  onStateChange?: ((change: StateChange) => void) | undefined;
  /** The fetch used for commands and streams (e.g. one with a TLS dispatcher). */
  fetch?: typeof fetch | undefined;
  /** TLS trust for an https:// server (a CA for a private or self-signed certificate); ignored with `fetch`. */
  tls?: TlsClientOptions | undefined;
  /**
   * An event-stream connect (the first one too) that gets no answer, not even the `connected`
   * frame, within this long is given up and tried again (on the next instance, with several
   * URLs). Default: the inactivity timeout the server announced, else 25 s.
   */
  connectTimeoutMs?: number | undefined;
  /** Longest wait between reconnect attempts (default 5 s). */
  maxReconnectDelayMs?: number | undefined;
  /**
   * How events travel: 'auto' (default): the event stream, switching to long
   * polls without losing or repeating an event when a proxy holds the stream
   * back, and trying the stream again later; 'sse' (one event stream, never
   * polls); or 'long-poll' (complete JSON answers that pass any proxy).
   */
  transport?: 'auto' | 'sse' | 'long-poll' | undefined;
  /** With 'auto': a stream with no `connected` frame after this long is held back (default 4 s). */
  heldBackMs?: number | undefined;
  /** With 'auto': how long to stay on long polls before trying the stream again (default 60 s). */
  sseRetryMs?: number | undefined;
  /** How long each long poll waits for an event (default 25 s, at most 30 s). */
  longPollWaitMs?: number | undefined;
  /**
   * Opt-in: every query and mutation also asks for one live subscription's
   * pending events (in turn, protocol.md section 4.5), and those events go to
   * that subscription at once, merged by id with what its transport delivers:
   * none lost, none twice. For an app that sends commands anyway, events then
   * arrive with their answers even while a proxy holds the stream back. A
   * subscription takes part once it has an id (its input's `lastEventId` or
   * its first event). Default false.
   */
  piggyback?: boolean | undefined;
}

/**
 * Creates a typed client for a Corbel server: commands in batched HTTP
 * requests, events over SSE with automatic resume by `lastEventId`, auth
 * headers computed afresh on every request and reconnect.
 *
 * It is tRPC's own client, so everything tRPC offers works: `.query()`,
 * `.mutate()`, `.subscribe(input, callbacks)` and, without callbacks,
 * `for await (const { id, data } of client.weather.readings.subscribe({ city }))`.
 *
 * @example
 * const client = createCorbelClient<WeatherRouter>({ url: 'http://127.0.0.1:4000', getToken });
 * const { id } = await client.weather.report.mutate({ city: 'Oslo', celsius: -3 });
 */
export function createCorbelClient<TRouter extends AnyTRPCRouter>(
  opts: CorbelClientOptions,
): TRPCClient<TRouter> {
  const urls = typeof opts.url === 'string' ? [opts.url] : opts.url;
  const pool = createInstancePool(urls.map((u) => rpcUrl(u, opts.basePath ?? '/rpc')));
  const url = pool.primary;
  const baseFetch = opts.fetch ?? (opts.tls ? createNodeFetch(opts.tls) : fetch);
  const piggyback = opts.piggyback === true ? createPiggyback() : undefined;
  const commandFetch = piggyback ? piggyback.commandFetch(baseFetch) : baseFetch;
  // Streams and polls leave an instance that accepts them but answers nothing (see FailoverFetchOptions).
  const streamFetch = failoverFetch(pool, baseFetch, 'always', { abandonIsFailure: true });
  // A first connect that is never answered is given up on, too (tRPC times out only reconnects).
  const esFetch = eventSourceFetch(
    opts,
    connectTimeoutFetch(streamFetch, { timeoutMs: opts.connectTimeoutMs }),
  );
  const batch = (mode: 'always' | 'unsent') =>
    httpBatchLink({
      url,
      transformer: superjson,
      // The server refuses batches over 50 calls (limits.maxBatchSize); split larger bursts.
      maxItems: 50,
      headers: () => authHeaders(opts),
      fetch: failoverFetch(pool, commandFetch, mode) as any,
    } as any);
  // Keyed batches fall back to one call per request on a server from before batched keys.
  const keyedFetch = keyedBatchFallback(mutationRetryFetch(pool, commandFetch, opts.mutationRetry));
  const canRefresh = typeof opts.getToken === 'function';
  let retryError: unknown;
  // tRPC reconnects after every 5xx error by itself; a final one ends the stream instead.
  const sse = finalErrorLink<TRouter>(
    httpSubscriptionLink({
      url,
      transformer: superjson,
      EventSource,
      // A fresh init for every EventSource, with its own backoff between failed connects.
      eventSourceOptions: () => ({ fetch: backingOffFetch(esFetch, opts.maxReconnectDelayMs) }),
    } as any),
  );
  const links = [
    ...(opts.onStateChange ? [stateLink<TRouter>(opts.onStateChange)] : []),
    splitLink<TRouter>({
      condition: (op) => op.type === 'subscription',
      true: [
        ...(piggyback ? [piggyback.link<TRouter>()] : []),
        retryLink({
          retry: ({ op, error, attempts }) => {
            const again = shouldReconnect(error, attempts, canRefresh);
            // Refused or ended by the server with a retryable error (CONSUMER_ELSEWHERE, DRAINING, …):
            // the retry happens below the state link, so say here why the stream is reconnecting.
            if (again) opts.onStateChange?.({ path: op.path, state: 'reconnecting', error });
            retryError = error;
            return again;
          },
          // retryDelayMs is given only the attempt count; tRPC's retryLink calls it right after
          // retry(), synchronously, for the same failure, so the error kept above is that failure's
          // and its Retry-After (a 429's) is waited out instead of a 250 ms backoff.
          retryDelayMs: (attempts) => reconnectDelayMs(retryError, attempts, opts.maxReconnectDelayMs),
        }),
        subscriptionTransport<TRouter>(opts, url, streamFetch, sse),
      ],
      false: [
        timeoutLink<TRouter>(opts.timeoutMs ?? 30_000),
        ...(opts.idempotencyKeys === false ? [] : [idempotencyKeyLink<TRouter>()]),
        splitLink<TRouter>({
          // A keyed mutation is retried until answered, on any instance: the server runs it once.
          condition: (op) => op.type === 'mutation' && idempotencyKeyOf(op) !== undefined,
          true: splitLink<TRouter>({
            // Keys this client made share batches, one key per call in call order (protocol.md §3.3).
            condition: madeIdempotencyKey,
            true: httpBatchLink({
              url,
              transformer: superjson,
              maxItems: 50,
              headers: async ({ opList }: { opList: { context?: Record<string, unknown> }[] }) => ({
                ...(await authHeaders(opts)),
                'idempotency-key': opList.map((op) => idempotencyKeyOf(op)!).join(', '),
              }),
              fetch: keyedFetch,
            } as any),
            // A caller's own key goes alone, exactly as before batches took keys.
            false: httpLink({
              url,
              transformer: superjson,
              headers: async ({ op }: { op: { context?: Record<string, unknown> } }) => ({
                ...(await authHeaders(opts)),
                'idempotency-key': idempotencyKeyOf(op)!,
              }),
              fetch: keyedFetch,
            } as any),
          }),
          // Unkeyed: only commands that are safe to repeat may be tried on another instance after being sent.
          false: splitLink<TRouter>({
            condition: isRetrySafe(opts.idempotent),
            true: batch('always'),
            false: batch('unsent'),
          }),
        }),
      ],
    }),
  ];
  return createTRPCClient<TRouter>({ links });
}

/** The terminating link for subscriptions, by `opts.transport`. */
function subscriptionTransport<TRouter extends AnyTRPCRouter>(
  opts: CorbelClientOptions,
  url: string,
  pollFetch: typeof fetch,
  sse: TRPCLink<TRouter>,
): TRPCLink<TRouter> {
  const transport = opts.transport ?? 'auto';
  if (transport === 'sse') return sse;
  const poll = {
    ...opts,
    url,
    fetch: pollFetch,
    waitMs: opts.longPollWaitMs,
    maxReconnectDelayMs: opts.maxReconnectDelayMs,
  };
  if (transport === 'long-poll') return longPollLink<TRouter>(poll);
  if (transport !== 'auto')
    throw new TypeError(`transport must be 'auto', 'sse' or 'long-poll', got "${transport}"`);
  return autoTransportLink<TRouter>({
    ...poll,
    sse,
    heldBackMs: opts.heldBackMs,
    sseRetryMs: opts.sseRetryMs,
  });
}

function rpcUrl(base: string, basePath: string): string {
  const trimmed = base.replace(/\/+$/, '');
  const path = `/${basePath.replace(/^\/+|\/+$/g, '')}`;
  return trimmed.endsWith(path) ? trimmed : `${trimmed}${path}`;
}
