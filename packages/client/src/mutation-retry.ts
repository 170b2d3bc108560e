import { abortableSleep } from './abortable-sleep.js';
import type { InstancePool } from './failover.js';

export interface MutationRetryOptions {
  /** Attempts per keyed mutation, the first included (default 5). */
  attempts?: number | undefined;
  /** An attempt with no complete answer after this long is abandoned and retried (default 10 s). */
  attemptTimeoutMs?: number | undefined;
}

/** Statuses after which a keyed mutation is sent again: the instance could not answer, or the key is still in flight. */
const RETRY_STATUS = new Set([409, 502, 503, 504]);

/**
 * The fetch of mutations that carry an `Idempotency-Key` (one call, or a
 * batch with one key per call): since the server runs a keyed call at most
 * once, every failure a retry may fix is retried,
 * on the pool's current instance: a connection refused or reset (before or
 * after the response started), an attempt that outlives `attemptTimeoutMs`,
 * and 502/503/504 (the pool moves on) or 409 IDEMPOTENCY_IN_FLIGHT, for the
 * request or for any call of a batch (207). The
 * whole answer is read before it is returned, so a reset mid-body is retried
 * too. The caller's own abort (the client's timeout) stops it.
 *
 * @example
 * const fetchKeyed = mutationRetryFetch(pool, fetch, { attempts: 5 });
 */
export function mutationRetryFetch(
  pool: InstancePool,
  baseFetch: typeof fetch,
  opts: MutationRetryOptions = {},
): typeof fetch {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? 10_000;
  return async (input, init) => {
    const requested = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const suffix = requested.startsWith(pool.primary) ? requested.slice(pool.primary.length) : null;
    const outer = init?.signal ?? undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (outer?.aborted) break;
      const base = suffix === null ? null : pool.current();
      const target = base === null ? requested : base + suffix;
      const timeout = attemptTimeoutMs > 0 ? AbortSignal.timeout(attemptTimeoutMs) : undefined;
      const signal = outer && timeout ? AbortSignal.any([outer, timeout]) : (outer ?? timeout);
      const last = attempt === attempts - 1;
      try {
        const res = await baseFetch(target, { ...init, ...(signal ? { signal } : {}) });
        if (RETRY_STATUS.has(res.status) && !last) {
          await res.body?.cancel().catch(() => {});
          if (res.status !== 409 && base !== null) pool.failed(base);
          await abortableSleep(backoff(attempt, res.headers.get('retry-after')), outer);
          continue;
        }
        // Read it all now: a connection cut mid-body is one more failure to retry.
        const body = await res.arrayBuffer();
        // A batch whose calls ended differently (207): if one of them may
        // succeed on a retry, the whole batch goes again with the same keys;
        // the calls that finished are replayed, not run.
        const again = res.status === 207 && !last ? retryableCallStatus(body) : undefined;
        if (again !== undefined) {
          if (again !== 409 && base !== null) pool.failed(base);
          await abortableSleep(backoff(attempt, res.headers.get('retry-after')), outer);
          continue;
        }
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      } catch (error) {
        lastError = error;
        if (outer?.aborted) throw error;
        if (base !== null) pool.failed(base);
        if (last) break;
        await abortableSleep(backoff(attempt, null), outer);
      }
    }
    throw lastError ?? outer?.reason ?? new DOMException('the request was aborted', 'AbortError');
  };
}

/**
 * The status of a call in a batch's answer that a retry may change (the
 * highest of them: a 502-504 moves the pool on, a lone 409 does not), or
 * undefined when every call's answer is final.
 */
function retryableCallStatus(body: ArrayBuffer): number | undefined {
  let calls: unknown;
  try {
    calls = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  if (!Array.isArray(calls)) return undefined;
  let found: number | undefined;
  for (const call of calls) {
    const status = (call as { error?: { json?: { data?: { httpStatus?: unknown } } } } | null)?.error?.json
      ?.data?.httpStatus;
    if (typeof status === 'number' && RETRY_STATUS.has(status) && (found === undefined || status > found)) {
      found = status;
    }
  }
  return found;
}

/** 50 ms doubling to 1 s, with jitter; a server's Retry-After (seconds) wins up to 2 s. */
function backoff(attempt: number, retryAfter: string | null): number {
  const asked = retryAfter === null ? Number.NaN : Number(retryAfter) * 1000;
  if (Number.isFinite(asked) && asked > 0) return Math.min(asked, 2000);
  const base = Math.min(50 * 2 ** attempt, 1000);
  return Math.round(base / 2 + Math.random() * (base / 2));
}
