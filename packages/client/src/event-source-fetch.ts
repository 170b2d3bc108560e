import { abortableSleep } from './abortable-sleep.js';
import { type AuthOptions, authHeaders } from './auth.js';
import { backoffMs, retryAfterMsOfResponse, withRetryAfter } from './retry-policy.js';

type Fetch = typeof fetch;

/** The one-frame streams eventSourceFetch made of refusals: failed connects, for the backoff. */
const refusals = new WeakSet<Response>();

/**
 * The fetch the EventSource uses, for every connect and reconnect:
 *
 * - it computes the auth headers afresh each time (stock reconnects reuse
 *   stale headers: trpc #6046);
 * - a refused stream (4xx/5xx with a tRPC JSON error, sent before any event)
 *   is turned into a one-frame stream carrying that error as tRPC's own
 *   `serialized-error` event. EventSource would otherwise report a bare
 *   "non-200 status"; this way the link raises a TRPCClientError with the
 *   server's code, message and Corbel data (HISTORY_GONE, UNAUTHORIZED, …).
 */
export function eventSourceFetch(auth: AuthOptions, baseFetch: Fetch = fetch): Fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    for (const [k, v] of Object.entries(await authHeaders(auth))) headers.set(k, v);
    const res = await baseFetch(input, { ...init, headers });
    if (res.ok || !res.headers.get('content-type')?.includes('application/json')) return res;
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return res;
    }
    const error = (body as { error?: unknown } | null)?.error;
    if (!error) return res;
    const retryAfterMs = retryAfterMsOfResponse(res);
    const retryMs = retryAfterMs ?? 1000;
    // EventSource honours `retry:` only for the errors tRPC lets it retry itself (5xx); the
    // others (429 LIMIT_EXCEEDED, 409 CONSUMER_ELSEWHERE) are retried by the retry link,
    // which reads the server's wait from here (see reconnectDelayMs).
    withRetryAfter(error, retryAfterMs);
    const frame = `retry: ${retryMs}\nevent: serialized-error\ndata: ${JSON.stringify(error)}\n\n`;
    const refusal = new Response(frame, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    refusals.add(refusal);
    return refusal;
  };
}

/**
 * One EventSource's fetch, backing off between failed connects. EventSource
 * retries a failed connect by itself, forever, after the server's `retry:`
 * (fixed, no jitter), without the retry link ever seeing a failure: a server
 * that stays down was hit every `retry:` ms by every client at once. This adds
 * the client's backoff (with jitter, up to `maxDelayMs`) before each attempt
 * that follows a failed one, a refusal (a retryable 503, reconnected by
 * EventSource itself) included; a stream that starts resets it. Make one per
 * EventSource, over eventSourceFetch.
 *
 * @example
 * const eventSourceOptions = () => ({ fetch: backingOffFetch(fetch, 5000) });
 */
export function backingOffFetch(baseFetch: Fetch, maxDelayMs?: number): Fetch {
  let failures = 0;
  return async (input, init) => {
    if (failures > 0) await abortableSleep(backoffMs(failures, maxDelayMs), init?.signal);
    // Closed while waiting: EventSource ignores an AbortError.
    init?.signal?.throwIfAborted();
    try {
      const res = await baseFetch(input, init);
      failures = refusals.has(res) ? failures + 1 : 0;
      return res;
    } catch (error) {
      failures++;
      throw error;
    }
  };
}
