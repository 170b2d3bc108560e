import {
  type HandlerContract,
  initCorbel,
  isSessionId,
  type ReverseFrame,
  reverseReplySchema,
} from '@corbel/core';
import { TRPCError, type TrackedEnvelope } from '@trpc/server';
import { z } from 'zod';
import type { ReverseService } from './reverse-types.js';

export interface ReverseRouterOptions<Ctx extends object> {
  service: ReverseService<any>;
  /** Who is calling; the same identity that owns the session. Null refuses (UNAUTHORIZED). */
  ownerOf(ctx: Ctx): string | null;
}

const sessionId = z.string().refine(isSessionId, 'a session id is 32 lowercase hex characters');

/**
 * The `reverse.*` procedures, to nest in an app router beside `session`:
 * - `calls` (subscription) — `{ session, lastEventId? }`: the calls addressed to the
 *   caller's session, tracked and resumable like any channel; only its owner may open it;
 * - `reply` (mutation) — `{ session, callId, result }`: the answer to one call; 403 unless
 *   the call was addressed to that session and the session is the caller's.
 *
 * @example
 * const router = t.router({ session: sessionRouter, reverse: createReverseRouter<WeatherContext>({ service, ownerOf: (ctx) => ctx.identity ?? 'anonymous' }) });
 */
export function createReverseRouter<Ctx extends object>(opts: ReverseRouterOptions<Ctx>) {
  const t = initCorbel<Ctx>();
  const { service } = opts;
  const authed = t.procedure.use(({ ctx, next }) => {
    const owner = opts.ownerOf(ctx as unknown as Ctx);
    if (owner === null) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'reverse calls need an authenticated caller' });
    }
    return next({ ctx: { owner } });
  });
  return t.router({
    calls: authed
      .meta({
        description: `Calls the server makes to this session's handlers (${Object.keys(service.handlers).join(', ') || 'none'}); only its owner may subscribe.`,
        // The contract shows each handler's call frame, with its input schema.
        channel: callFramesSchema(service.handlers),
      })
      .input(z.object({ session: sessionId, lastEventId: z.string().max(100).optional() }))
      .subscription(
        ({ ctx, input, signal }): Promise<AsyncIterable<TrackedEnvelope<ReverseFrame>>> =>
          service.calls(input.session, ctx.owner, { after: input.lastEventId, signal }),
      ),
    reply: authed
      .meta({ description: 'The answer to one reverse call, from the session it was addressed to.' })
      .input(reverseReplySchema)
      .output(z.object({ accepted: z.boolean() }))
      .mutation(({ ctx, input }) => service.reply(ctx.owner, input)),
  });
}

/** The frames `reverse.calls` delivers, one call shape per handler (for the exported contract). */
function callFramesSchema(handlers: HandlerContract): z.ZodType {
  const calls = Object.entries(handlers).map(([path, spec]) =>
    z
      .object({
        type: z.literal('call'),
        callId: z.string(),
        path: z.literal(path),
        input: spec.input,
        deadline: z.number().describe('epoch ms; the server no longer waits after it'),
      })
      .describe(spec.description ?? path),
  );
  const cancel = z.object({ type: z.literal('cancel'), callId: z.string() });
  return z.union([...calls, cancel] as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
}
