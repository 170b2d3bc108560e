import { TRPCClientError } from '@trpc/client';
import { corbelCodeOf, retryableOf, trpcCodeOf } from './errors.js';

/** tRPC codes for which a new attempt cannot succeed, for errors that carry no `retryable` of their own. */
const FINAL_CODES = new Set([
  'BAD_REQUEST',
  'PARSE_ERROR',
  'NOT_FOUND',
  'FORBIDDEN',
  'METHOD_NOT_SUPPORTED',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE_CONTENT',
  'NOT_IMPLEMENTED',
]);

/**
 * Whether a failed event stream (or poll loop) should reconnect. Transport
 * failures do, forever with backoff; a server error does when the server
 * says it is retryable (`data.retryable`, protocol.md section 6.4), or, from
 * a server that does not say, when its code is not a final one. HISTORY_GONE
 * never does; TOKEN_EXPIRED does when `getToken` can supply a fresh token,
 * and UNAUTHORIZED then a few times.
 */
export function shouldReconnect(error: unknown, attempts: number, canRefreshToken: boolean): boolean {
  const corbelCode = corbelCodeOf(error);
  if (corbelCode === 'HISTORY_GONE') return false;
  // An expired token is expected on a long stream: always reconnect (with backoff) when a fresh one can be asked for.
  if (corbelCode === 'TOKEN_EXPIRED') return canRefreshToken;
  const code = trpcCodeOf(error);
  if (code === 'UNAUTHORIZED') return canRefreshToken && attempts <= 3;
  const retryable = retryableOf(error);
  if (retryable !== undefined) return retryable;
  if (code && FINAL_CODES.has(code)) return false;
  return true;
}

/** Exponential backoff from 250 ms up to `maxMs`, with jitter so clients do not reconnect in lockstep. */
export function backoffMs(attempts: number, maxMs = 5000): number {
  const base = Math.min(250 * 2 ** Math.max(0, attempts - 1), maxMs);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** The longest server-named wait the client honours (a Retry-After of hours is not waited out). */
const MAX_RETRY_AFTER_MS = 60_000;

/** A response's Retry-After (delay-seconds) in ms, at most a minute; undefined when absent or zero. */
export function retryAfterMsOfResponse(res: Response): number | undefined {
  const seconds = Number(res.headers.get('retry-after') ?? Number.NaN);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * Records the wait a refusal's Retry-After asked for in its error document's
 * `data` (as `retryAfterMs`), where the error a link raises from it keeps it.
 */
export function withRetryAfter(errorJson: unknown, retryAfterMs: number | undefined): void {
  if (retryAfterMs === undefined) return;
  const data = (errorJson as { json?: { data?: Record<string, unknown> } } | null)?.json?.data;
  if (data && typeof data === 'object') data.retryAfterMs = retryAfterMs;
}

/**
 * How long to wait before reconnecting after `error`: the backoff, or the
 * server's Retry-After when it asked for longer (protocol.md section 6.4:
 * "wait at least that long").
 */
export function reconnectDelayMs(error: unknown, attempts: number, maxMs?: number): number {
  const backoff = backoffMs(attempts, maxMs);
  if (!(error instanceof TRPCClientError)) return backoff;
  const asked = (error.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof asked === 'number' && asked > backoff ? Math.min(asked, MAX_RETRY_AFTER_MS) : backoff;
}
