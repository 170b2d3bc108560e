import type { Operation } from '@trpc/client';

/**
 * Failover across several instances of one service (servers sharing a Redis
 * log): requests go to the current instance; when it cannot be reached the
 * pool moves to the next one, and every later request, command or stream
 * reconnect, goes there too. Event ids are valid on every instance, so a
 * stream that reconnects elsewhere resumes by its Last-Event-ID.
 */
export interface InstancePool {
  /** The instances' RPC base URLs, in failover order. */
  readonly urls: readonly string[];
  /** The URL the links are configured with; requests to it are re-targeted. */
  readonly primary: string;
  /** The instance requests go to now. */
  current(): string;
  /** Reports that `url` failed; the pool moves on unless it already has. */
  failed(url: string): void;
}

/**
 * A pool over `urls` (RPC base URLs, e.g. http://a:4000/rpc), starting at the first.
 *
 * @example
 * const pool = createInstancePool(['http://a:4000/rpc', 'http://b:4000/rpc']);
 */
export function createInstancePool(urls: readonly string[]): InstancePool {
  if (urls.length === 0) throw new TypeError('at least one server URL is required');
  let index = 0;
  return {
    urls,
    primary: urls[0]!,
    current: () => urls[index]!,
    failed(url) {
      if (urls[index] === url) index = (index + 1) % urls.length;
    },
  };
}

/**
 * When a request may be tried on another instance:
 * - 'unsent': only when the connection could not even be opened (refused,
 *   unreachable, DNS), so the server never saw the request. Used for
 *   mutations not marked idempotent: anything later is never repeated.
 * - 'always': also when the connection broke mid-request or the instance
 *   answered 502/503/504 (e.g. draining). Used for queries, streams and
 *   mutations the app marked idempotent.
 */
export type FailoverMode = 'unsent' | 'always';

/** Error codes meaning the TCP/TLS connection was never established. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  for (let e: any = error, depth = 0; e && depth < 4; e = e.cause, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

export interface FailoverFetchOptions {
  /**
   * For event streams and polls: a request its caller abandoned before any
   * answer came (the stream's inactivity timer, the held-back switch) counts
   * against the instance, so the next attempt goes to the next instance. An
   * instance that accepts connections but answers nothing (a frozen process,
   * whose kernel still completes the handshake) is otherwise retried forever.
   * Commands leave it off: a caller's own timeout says nothing about the instance.
   */
  abandonIsFailure?: boolean | undefined;
}

/**
 * Wraps `baseFetch` so that a request for `pool.primary` goes to the pool's
 * current instance and, when that instance fails in a way `mode` allows, to
 * the next ones (each at most once per request).
 *
 * @example
 * const fetchAny = failoverFetch(pool, fetch, 'always');
 */
export function failoverFetch(
  pool: InstancePool,
  baseFetch: typeof fetch,
  mode: FailoverMode,
  opts: FailoverFetchOptions = {},
): typeof fetch {
  if (pool.urls.length === 1) return baseFetch;
  return async (input, init) => {
    const requested = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const suffix = requested.startsWith(pool.primary) ? requested.slice(pool.primary.length) : null;
    if (suffix === null) return baseFetch(input, init);
    let lastError: unknown;
    for (let attempt = 0; attempt < pool.urls.length; attempt++) {
      if (init?.signal?.aborted) break;
      const target = pool.current();
      try {
        const res = await baseFetch(target + suffix, init);
        if (mode === 'always' && res.status >= 502 && res.status <= 504 && attempt < pool.urls.length - 1) {
          await res.body?.cancel().catch(() => {});
          pool.failed(target);
          continue;
        }
        return res;
      } catch (error) {
        lastError = error;
        const code = errorCode(error);
        const unsent = code !== undefined && NOT_SENT.has(code);
        const aborted = (error as Error)?.name === 'AbortError';
        if (aborted && opts.abandonIsFailure && init?.signal?.aborted) pool.failed(target);
        if (aborted || (!unsent && mode !== 'always')) throw error;
        pool.failed(target);
      }
    }
    throw lastError ?? new DOMException('the request was aborted', 'AbortError');
  };
}

/**
 * The commands that may be retried on another instance: queries, mutations
 * whose path is listed in `idempotentPaths`, and single calls made with
 * `{ context: { idempotent: true } }`.
 *
 * @example
 * client.weather.report.mutate(reading, { context: { idempotent: true } });
 */
export function isRetrySafe(idempotentPaths: readonly string[] = []): (op: Operation) => boolean {
  const paths = new Set(idempotentPaths);
  return (op) => op.type === 'query' || op.context?.idempotent === true || paths.has(op.path);
}
