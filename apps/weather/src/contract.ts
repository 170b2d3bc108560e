import { createHub, createMemorySessions } from '@corbel/core';
import { type ContractSource, withContract } from '@corbel/core/contract';
import { weatherContractInfo } from './contract-info.js';
import { createWeatherRouter } from './router.js';
import { createStationSessions, withSessions } from './station-sessions.js';

const hub = createHub();

/**
 * The weather station's contract source, for `npm run docs` and
 * `corbel contract export apps/weather/src/contract.ts`: the router exactly as
 * the station assembles it (weather.*, session.*, corbel.contract), built on a
 * throwaway in-memory hub — exporting reads its schemas, never calls it.
 */
export const contractSource: ContractSource = {
  ...weatherContractInfo,
  router: withContract(
    withSessions(
      createWeatherRouter({ hub, latest: { get: () => null, set: () => {} } }),
      createStationSessions(hub, createMemorySessions()),
    ),
    weatherContractInfo,
  ),
};
