import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// Kept on the request itself: cheaper per request than a WeakMap entry, and
// gone with the request all the same.
const REQUEST_ID = Symbol('corbel.requestId');
type WithId = IncomingMessage & { [REQUEST_ID]?: string };
// Only ids a log line can carry safely: no spaces, quotes or control characters.
const SAFE = /^[\w.:@/+=-]{1,128}$/;
let counter = 0;
const prefix = randomBytes(4).toString('hex');

/**
 * The request id of a request: the caller's `x-request-id` when it is a
 * sane token (at most 128 safe characters), else a new one. Stable for the
 * request's life, so every log line about it carries the same id.
 *
 * @example
 * logger.info({ reqId: requestIdOf(req) }, 'stream open');
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = (req as WithId)[REQUEST_ID];
  if (id === undefined) {
    const given = req.headers['x-request-id'];
    id = typeof given === 'string' && SAFE.test(given) ? given : `${prefix}-${(++counter).toString(36)}`;
    (req as WithId)[REQUEST_ID] = id;
  }
  return id;
}
