import { runServerConformance, type ServerConformanceOptions } from '@corbel/testing';
import { startStation } from '../src/station-server.js';

const CITY = 'Conformance';

const weather: Omit<ServerConformanceOptions, 'name' | 'start'> = {
  query: { path: 'weather.latest', kind: 'query', input: { city: 'Oslo' } },
  roundTrip: { path: 'weather.latest', kind: 'query', input: { city: CITY }, types: ['Date'] },
  invalid: {
    path: 'weather.report',
    kind: 'mutation',
    input: { city: CITY, celsius: 500 },
    field: ['celsius'],
  },
  events: {
    path: 'weather.readings',
    input: { city: CITY },
    publish: (n) => ({ path: 'weather.report', kind: 'mutation', input: { city: CITY, celsius: n % 100 } }),
    idOf: (result: { id: string }) => result.id,
    // An id of another epoch: a history this station never had.
    goneId: '00000000-1',
  },
};

runServerConformance({ name: 'weather station (open)', start: () => startStation(), ...weather });

runServerConformance({
  name: 'weather station (token)',
  start: () => startStation({ token: 'conformance-secret' }),
  token: 'conformance-secret',
  ...weather,
});
