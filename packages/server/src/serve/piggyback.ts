import { TRPCError } from '@trpc/server';
import { parseJson } from './body.js';
import { errorCodeOf } from './error-response.js';
import { collectEvents, POLL_ANSWERED, withResumeId } from './long-poll.js';
import type { RequestContext } from './request-context.js';
import { getTRPCErrorFromUnknown } from './trpc-bridge.js';

/** The request header that asks for a subscription's pending events with a command's answer. */
export const PIGGYBACK_HEADER = 'corbel-piggyback';
const INPUT_HEADER = 'corbel-piggyback-input';
const LAST_EVENT_ID_HEADER = 'corbel-piggyback-last-event-id';
/** The response header carrying them (base64url of the long-poll `data` JSON). */
export const EVENTS_HEADER = 'corbel-events';
const EVENTS_ERROR_HEADER = 'corbel-events-error';

// Response headers pass proxies only when small: a few KiB at most, the rest
// waits for the next command or poll (`more: true`).
const BOUNDS = { maxEvents: 32, maxBytes: 4096 };

const one = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

/** True when the request asked for piggybacked events (cheap: read before anything else is done). */
export function wantsPiggyback(rc: RequestContext): boolean {
  return rc.req.headers[PIGGYBACK_HEADER] !== undefined;
}

/**
 * The piggyback (protocol.md section 4.5): the events of one subscription
 * pending after a given id, taken without waiting and answered in a response
 * header of the command, so a client that sends commands anyway gets its
 * events with them. The subscription goes through the same input decoding,
 * authorization, procedure and errors as a stream or long poll; a failure
 * leaves the command's own answer untouched and is named in
 * `corbel-events-error` instead.
 *
 * @example
 * Object.assign(headers, await piggybackHeaders(rc));
 */
export async function piggybackHeaders(rc: RequestContext): Promise<Record<string, string>> {
  const { bridge, req } = rc;
  const path = one(req.headers[PIGGYBACK_HEADER]) ?? '';
  const abort = new AbortController();
  try {
    if (bridge.typeOf(path) !== 'subscription') {
      throw new TRPCError({ code: 'BAD_REQUEST', message: `${path.slice(0, 100)} is not a subscription` });
    }
    const rawInput = one(req.headers[INPUT_HEADER]);
    let input: unknown;
    if (rawInput !== undefined && rawInput !== '') {
      let text: string;
      try {
        text = decodeURIComponent(rawInput);
      } catch {
        throw new TRPCError({ code: 'BAD_REQUEST', message: `${INPUT_HEADER} is not URI-encoded` });
      }
      input = bridge.deserializeInput(parseJson(text, `the ${INPUT_HEADER} header`));
    }
    const lastEventId = one(req.headers[LAST_EVENT_ID_HEADER]) || null;
    input = withResumeId(input, lastEventId);
    // The command's own context (made once per request), and the same authorization as a stream's.
    await rc.context();
    const source = await rc.call({ path, type: 'subscription', input, signal: abort.signal, batchIndex: 0 });
    if (typeof source !== 'object' || source === null || !(Symbol.asyncIterator in source)) {
      throw new TRPCError({
        code: 'INTERNAL_SERVER_ERROR',
        message: `${path} did not return an async iterable`,
      });
    }
    const collected = await collectEvents(
      bridge,
      source as AsyncIterable<unknown>,
      { waitMs: 0, lastEventId },
      abort.signal,
      BOUNDS,
    );
    if (collected.failure) return { [EVENTS_ERROR_HEADER]: errorCodeOf(collected.failure) };
    return { [EVENTS_HEADER]: Buffer.from(collected.data).toString('base64url') };
  } catch (cause) {
    return { [EVENTS_ERROR_HEADER]: errorCodeOf(getTRPCErrorFromUnknown(cause)) };
  } finally {
    abort.abort(POLL_ANSWERED);
  }
}
