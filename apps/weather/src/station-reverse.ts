import { CorbelError, type Hub, type SessionRegistry } from '@corbel/core';
import { createReverseRouter, createReverseService, type ReverseService } from '@corbel/server';
import { type BoardEntry, boardHandlers } from './board-handlers.js';
import type { WeatherContext } from './router.js';

/** How long `weather.boards` waits for each board. */
export const DESCRIBE_TIMEOUT_MS = 2000;

/**
 * Reverse calls for the station: the `reverse.*` procedures boards serve
 * their handlers on, and `describeBoards` for `weather.boards`. A board that
 * drops is reported gone after one second (shorter than the describe timeout,
 * so a killed board shows CLIENT_GONE, a frozen one TIMEOUT).
 *
 * @example
 * const reverse = createStationReverse(hub, registry);
 * const boards = await reverse.describeBoards(); // [{ ref, city, received, startedAt } | { ref, error }]
 */
export function createStationReverse(hub: Hub, registry: SessionRegistry) {
  const service: ReverseService<typeof boardHandlers> = createReverseService({
    hub,
    registry,
    handlers: boardHandlers,
    graceMs: 1000,
  });
  const router = createReverseRouter<WeatherContext>({
    service,
    ownerOf: (ctx) => ctx.identity ?? 'anonymous',
  });
  /** Asks every connected board to describe itself; one entry per board, answered or not. */
  const describeBoards = async (): Promise<BoardEntry[]> => {
    const results = await service.callAll('board.describe', {}, { timeoutMs: DESCRIBE_TIMEOUT_MS });
    return results.map((r) =>
      r.status === 'fulfilled'
        ? { ref: r.ref, ...r.value }
        : { ref: r.ref, error: `${CorbelError.find(r.error)?.corbelCode ?? 'ERROR'}: ${r.error.message}` },
    );
  };
  return { service, router, describeBoards };
}
