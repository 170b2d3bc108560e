import { corbelCodeOf, trpcCodeOf } from './errors.js';

/** tRPC codes for which a new attempt cannot succeed. */
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
 * Whether a failed event stream should reconnect. Transport failures and
 * retryable server errors do, forever with backoff; HISTORY_GONE and other
 * final errors don't; UNAUTHORIZED does a few times when `getToken` can supply
 * a fresh token.
 */
export function shouldReconnect(error: unknown, attempts: number, canRefreshToken: boolean): boolean {
  const corbelCode = corbelCodeOf(error);
  if (corbelCode === 'HISTORY_GONE') return false;
  // An expired token is expected on a long stream: always reconnect (with backoff) when a fresh one can be asked for.
  if (corbelCode === 'TOKEN_EXPIRED') return canRefreshToken;
  const code = trpcCodeOf(error);
  if (code === 'UNAUTHORIZED') return canRefreshToken && attempts <= 3;
  if (code && FINAL_CODES.has(code)) return false;
  return true;
}

/** Exponential backoff from 250 ms up to `maxMs`, with jitter so clients do not reconnect in lockstep. */
export function backoffMs(attempts: number, maxMs = 5000): number {
  const base = Math.min(250 * 2 ** Math.max(0, attempts - 1), maxMs);
  return Math.round(base / 2 + Math.random() * (base / 2));
}
