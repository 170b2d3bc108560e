import { type ContractSource, createHub, createMemorySessions } from '@corbel/core';
import { createWeatherRouter, readingsChannel } from './router.js';
import { createStationSessions, noteSchema, withSessions } from './station-sessions.js';

const hub = createHub();

/**
 * The weather station's contract source, for `npm run docs` and
 * `corbel contract export apps/weather/src/contract.ts`: the weather contract
 * plus the `session.*` procedures the station serves beside it. The router is
 * built on a throwaway in-memory hub: exporting reads its schemas, never
 * calls it.
 */
export const contractSource: ContractSource = {
  service: 'weather',
  description:
    'The reference Corbel service: stations report temperatures, anyone reads the latest per city, and boards follow every reading as it happens. Each board may open a session with a private channel for notes from the station.',
  router: withSessions(
    createWeatherRouter({ hub, latest: { get: () => null, set: () => {} } }),
    createStationSessions(hub, createMemorySessions()),
  ),
  events: { [readingsChannel.name]: readingsChannel, 'session.messages': noteSchema },
};
