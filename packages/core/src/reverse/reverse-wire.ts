import { z } from 'zod';
import { isSessionId, sessionChannelName } from '../session-registry.js';

/**
 * What travels on a client's private calls channel: a call, or the server
 * withdrawing one (timeout or cancellation) so the handler's signal aborts.
 */
export const reverseFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('open') }),
  z.object({
    type: z.literal('call'),
    callId: z.string(),
    path: z.string(),
    input: z.unknown(),
    /** Epoch ms after which the server no longer waits: the call is never delivered after it. */
    deadline: z.number(),
  }),
  z.object({ type: z.literal('cancel'), callId: z.string() }),
]);
export type ReverseFrame = z.output<typeof reverseFrameSchema>;

/** The error codes a client may answer a call with. */
export const REPLY_ERROR_CODES = [
  'HANDLER_FAILED',
  'NO_HANDLER',
  'INVALID_PAYLOAD',
  'CALL_CANCELLED',
] as const;

/** The input of `reverse.reply`: the client's answer to one call. */
export const reverseReplySchema = z.object({
  session: z.string().refine(isSessionId, 'a session id is 32 lowercase hex characters'),
  callId: z.string().min(1).max(200),
  result: z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), output: z.unknown() }),
    z.object({
      ok: z.literal(false),
      error: z.object({
        code: z.enum(REPLY_ERROR_CODES),
        message: z.string().max(2000),
      }),
    }),
  ]),
});
export type ReverseReply = z.output<typeof reverseReplySchema>;
export type ReverseResult = ReverseReply['result'];

/**
 * The calls channel of a session (beside its private messages, readable only by its owner).
 *
 * @example
 * callsChannelName('0123456789abcdef0123456789abcdef'); // 'corbel.session.0123…cdef.calls'
 */
export function callsChannelName(sessionId: string): string {
  return `${sessionChannelName(sessionId)}.calls`;
}
