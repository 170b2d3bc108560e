import { type ContractSource, createHub } from '@corbel/core';
import { createWeatherRouter, readingsChannel } from './router.js';

/**
 * The weather service's contract source, for `npm run docs` and
 * `corbel contract export apps/weather/src/contract.ts`. The router is built
 * on a throwaway in-memory hub: exporting reads its schemas, never calls it.
 */
export const contractSource: ContractSource = {
  service: 'weather',
  description:
    'The reference Corbel service: stations report temperatures, anyone reads the latest per city, and boards follow every reading as it happens.',
  router: createWeatherRouter({ hub: createHub(), latest: { get: () => null, set: () => {} } }),
  events: { [readingsChannel.name]: readingsChannel },
};
