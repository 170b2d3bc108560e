import { createCorbelClient } from '@corbel/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';

// These assertions are checked by `tsc --noEmit` (part of `npm test`); the
// runtime test only proves the file loads.
describe('types flow from the router to the client', () => {
  const client = createCorbelClient<WeatherRouter>({ url: 'http://127.0.0.1:1' });

  it('infers command inputs and outputs', () => {
    expectTypeOf(client.weather.report.mutate)
      .parameter(0)
      .toEqualTypeOf<{ city: string; celsius: number }>();
    expectTypeOf(client.weather.report.mutate).returns.resolves.toEqualTypeOf<{ id: string }>();
    expectTypeOf(client.weather.latest.query).returns.resolves.toEqualTypeOf<{
      city: string;
      celsius: number;
      at: Date;
    } | null>();
    type In = inferRouterInputs<WeatherRouter>;
    type Out = inferRouterOutputs<WeatherRouter>;
    expectTypeOf<In['weather']['latest']>().toEqualTypeOf<{ city: string }>();
    expectTypeOf<Out['weather']['report']>().toEqualTypeOf<{ id: string }>();
  });

  it('infers event payloads with their ids, Dates included', () => {
    type Subscribe = typeof client.weather.readings.subscribe;
    expectTypeOf<Parameters<Subscribe>[0]>().toEqualTypeOf<{
      city?: string;
      lastEventId?: string;
      consumer?: string;
      policy?: 'cut-and-resume' | 'drop-oldest' | 'drop-newest' | 'latest-per-key';
    }>();
    const iterate = () => client.weather.readings.subscribe({ city: 'Oslo' });
    type Event = ReturnType<typeof iterate> extends AsyncIterable<infer E> ? E : never;
    expectTypeOf<Event>().toEqualTypeOf<{ id: string; data: { city: string; celsius: number; at: Date } }>();
    // @ts-expect-error celsius must be a number
    void (() => client.weather.report.mutate({ city: 'Oslo', celsius: 'warm' }));
    // @ts-expect-error no such procedure
    void (() => client.weather.forecast);
  });
});
