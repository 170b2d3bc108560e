import { CorbelError } from '@corbel/core';

/**
 * The one place where Redis and ioredis failures become Corbel errors.
 *
 * Everything that means "Redis cannot serve right now" (connection refused or
 * lost, a command sent while reconnecting, a timeout, a server still loading
 * its data, a replica that cannot take writes, a disk that cannot persist)
 * becomes the retryable STORE_UNAVAILABLE: the caller gets a 503-class answer
 * and knows nothing was stored. A key that holds something other than a stream
 * is STORE_CORRUPT: retrying cannot help.
 */

/** Reply prefixes of server-side conditions that pass by themselves. */
const TRANSIENT_REPLIES = [
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'READONLY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MISCONF',
  'OOM',
  'NOREPLICAS',
];

/** Messages ioredis uses when it cannot send or complete a command. */
const CONNECTION_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'Command timed out',
  'Reached the max retries per request limit',
  'Command aborted due to connection close',
  'connect ECONNREFUSED',
  'read ECONNRESET',
  'write EPIPE',
];

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when `error` means Redis could not be reached or could not answer in time. */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'AbortError') return true;
  const message = error.message;
  return (
    CONNECTION_MESSAGES.some((m) => message.includes(m)) ||
    TRANSIENT_REPLIES.some((p) => message.startsWith(`${p} `) || message === p)
  );
}

/**
 * Translates anything a Redis call threw into a CorbelError; `doing` names the
 * operation for the message ("publish on weather.readings").
 *
 * @example
 * try { await redis.xadd('corbel:weather.readings', '*', 'e', '{}'); } catch (e) { throw toCorbelError(e, 'publish on weather.readings'); }
 */
export function toCorbelError(error: unknown, doing: string): CorbelError {
  const found = CorbelError.find(error);
  if (found) return found;
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('WRONGTYPE')) {
    return new CorbelError(
      'STORE_CORRUPT',
      `Redis refused to ${doing}: a key holds something other than a stream (${message})`,
      {
        cause: error,
      },
    );
  }
  if (isRedisUnavailable(error)) {
    return new CorbelError(
      'STORE_UNAVAILABLE',
      `Redis is unavailable, could not ${doing}${doing.startsWith('publish') ? '; nothing was stored' : ''} (${message})`,
      {
        cause: error,
      },
    );
  }
  return new CorbelError('STORE_UNAVAILABLE', `Redis failed to ${doing} (${message})`, { cause: error });
}

/**
 * Runs one Redis operation and translates what it throws (see `toCorbelError`):
 * the one place the store's pieces turn driver errors into CorbelErrors.
 *
 * @example
 * const position = await guardRedis('read a consumer position', () => redis.get('corbel:consumer:k'));
 */
export async function guardRedis<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toCorbelError(error, doing);
  }
}
