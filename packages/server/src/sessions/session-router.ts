import { CorbelError, initCorbel, isSessionId } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { SessionService } from './session-service.js';

export interface SessionRouterOptions<Ctx extends object, M extends z.ZodType> {
  service: SessionService<M>;
  /**
   * Who is calling: sessions belong to this identity. Return null to refuse
   * (UNAUTHORIZED); a server running open can return a fixed name.
   */
  ownerOf(ctx: Ctx): string | null;
  /**
   * Whether the caller may list live sessions, everyone's owners and times
   * (the operator query). Without it nobody may (403): decide who your
   * operators are, e.g. `(ctx) => ctx.identity?.operator === true`.
   */
  canList?(ctx: Ctx): boolean;
}

const sessionId = z.string().refine(isSessionId, 'a session id is 32 lowercase hex characters');

/**
 * The `session.*` procedures, to nest in an app router:
 * - `open` (mutation) — `{ resume?, cursors? }` → `{ id, resumed, createdAt, ttlMs }`: a new
 *   session, or the same one again when `resume` is live and the caller's;
 * - `messages` (subscription) — `{ id, lastEventId? }`: the session's private channel,
 *   only for its owner, resumable by id like any channel;
 * - `list` (query) — every live session (a short ref, owner, since, last seen, streams), only
 *   for callers `canList` accepts (operators); 403 for everyone else, and for everyone without it.
 *
 * @example
 * const router = t.router({ weather: weatherRouter, session: createSessionRouter({ service, ownerOf: (ctx: WeatherContext) => ctx.identity ?? 'anonymous', canList: (ctx) => ctx.operator === true }) });
 */
export function createSessionRouter<Ctx extends object, M extends z.ZodType>(
  opts: SessionRouterOptions<Ctx, M>,
) {
  const t = initCorbel<Ctx>();
  const { service } = opts;
  const authed = t.procedure.use(({ ctx, next }) => {
    const owner = opts.ownerOf(ctx as unknown as Ctx);
    if (owner === null) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sessions need an authenticated caller' });
    }
    return next({ ctx: { owner } });
  });
  return t.router({
    open: authed
      .meta({ description: 'Open a session (or resume one you own); returns its 128-bit id.' })
      .input(
        z.object({
          resume: sessionId.optional(),
          cursors: z.record(z.string().max(200), z.string().max(100)).optional(),
        }),
      )
      .output(z.object({ id: z.string(), resumed: z.boolean(), createdAt: z.date(), ttlMs: z.number() }))
      .mutation(async ({ ctx, input }) => {
        if (input.cursors && Object.keys(input.cursors).length > 20) {
          throw new TRPCError({ code: 'BAD_REQUEST', message: 'at most 20 cursors' });
        }
        const { session, resumed } = await service.open(ctx.owner, input);
        return {
          id: session.id,
          resumed,
          createdAt: new Date(session.createdAt),
          ttlMs: service.registry.ttlMs,
        };
      }),

    messages: authed
      .meta({ description: "The session's private messages; only its owner may subscribe." })
      .input(z.object({ id: sessionId, lastEventId: z.string().max(100).optional() }))
      .subscription(({ ctx, input, signal }) =>
        service.messages(input.id, ctx.owner, { after: input.lastEventId, signal }),
      ),

    list: t.procedure
      .meta({ description: 'Live sessions: who is connected, since when, last seen (operator query).' })
      .output(
        z.array(
          z.object({
            ref: z.string(),
            owner: z.string(),
            createdAt: z.date(),
            lastSeenAt: z.date(),
            expiresAt: z.date(),
            streams: z.number(),
          }),
        ),
      )
      .query(async ({ ctx }) => {
        // Lists other callers: only for those the server calls operators, never by default.
        if (opts.canList?.(ctx as unknown as Ctx) !== true) {
          throw new CorbelError('FORBIDDEN', 'listing sessions is for operators');
        }
        return service.list();
      }),
  });
}
