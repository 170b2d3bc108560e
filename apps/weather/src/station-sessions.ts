import { CorbelError, type Hub, initCorbel, type SessionRegistry } from '@corbel/core';
import { createSessionRouter, createSessionService, type SessionService } from '@corbel/server';
import { z } from 'zod';
import { readingsChannel, type WeatherContext, type WeatherRouter } from './router.js';
import { createStationReverse } from './station-reverse.js';

/** A private note from the station to one board. */
export const noteSchema = z.object({ text: z.string(), at: z.date() });

/** Readings counted at most, so a very long absence cannot make a resume slow. */
const MAX_COUNTED = 100_000;

/**
 * Sessions for the weather station: one per board. When a board resumes its
 * session and says which reading it saw last, the station sends it a private
 * "welcome back, you missed N readings" note (the readings themselves are
 * replayed on the board's readings stream).
 */
export function createStationSessions(hub: Hub, registry: SessionRegistry) {
  const service: SessionService<typeof noteSchema> = createSessionService({
    registry,
    hub,
    message: noteSchema,
    onOpen: async (session, { resumed, cursors }) => {
      const seen = cursors[readingsChannel.name];
      if (!resumed || seen === undefined) return;
      const missed = await countAfter(hub, seen);
      const text =
        missed === 'gone'
          ? 'welcome back — more readings were reported while you were away than this station keeps; resyncing from the latest readings'
          : missed === 'unknown'
            ? 'welcome back'
            : `welcome back — you missed ${missed}${missed >= MAX_COUNTED ? '+' : ''} reading${missed === 1 ? '' : 's'} while you were away; they follow in order`;
      await service.send(session.id, { text, at: new Date() });
    },
  });
  const router = createSessionRouter<WeatherContext, typeof noteSchema>({
    service,
    // A station without a token runs open: the 128-bit session id is then the only secret.
    ownerOf: (ctx) => ctx.identity ?? 'anonymous',
    canList: (ctx) => ctx.operator === true,
  });
  // Boards serve their handlers (board.describe) on their session: reverse.calls / reverse.reply.
  const reverse = createStationReverse(hub, registry);
  return { service, router, reverse };
}

/** How many readings follow `after` in the log (paged, capped), or why it cannot say. */
async function countAfter(hub: Hub, after: string): Promise<number | 'gone' | 'unknown'> {
  let count = 0;
  let cursor = after;
  try {
    while (count < MAX_COUNTED) {
      const page = await hub.log.read(readingsChannel.name, { after: cursor, limit: 1000 });
      count += page.length;
      if (page.length < 1000) break;
      cursor = page.at(-1)!.id;
    }
    return count;
  } catch (error) {
    return CorbelError.find(error)?.corbelCode === 'HISTORY_GONE' ? 'gone' : 'unknown';
  }
}

/**
 * The station's full router: the weather contract plus `session.*` and `reverse.*`, served by
 * one tRPC root so both share the transformer, error formatter and SSE settings.
 */
export function withSessions<R extends { _def: { record: Record<string, any> } }>(
  weather: R,
  sessions: ReturnType<typeof createStationSessions>,
) {
  const t = initCorbel<WeatherContext>();
  return t.router({
    ...(weather._def.record as R['_def']['record']),
    session: sessions.router,
    reverse: sessions.reverse.router,
  });
}

/** The type of the station's router (weather contract + sessions), for typed clients such as the board. */
export type StationRouter = ReturnType<typeof withSessions<WeatherRouter>>;
