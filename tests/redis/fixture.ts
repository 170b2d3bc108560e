import { createCorbelClient } from '@corbel/client';
import type { StartedProcess } from '@corbel/testing';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { spawnStation } from '../../apps/weather/test/station-process.js';

/** Starts the real station CLI on `redisUrl` (port 0 unless given). */
export function startRedisStation(redisUrl: string, port = 0): Promise<StartedProcess> {
  return spawnStation(['--port', String(port), '--redis', redisUrl]);
}

export interface Received {
  id: string;
  city: string;
  celsius: number;
}

/** A failover client subscribed to weather.readings, recording what it receives. */
export interface Subscriber {
  name: string;
  received: Received[];
  states: string[];
  errors: unknown[];
  live: Promise<void>;
  close(): void;
}

/** Subscribes a client that knows `urls` (it starts on the first one). */
export function subscribeReadings(name: string, urls: string[], lastEventId?: string): Subscriber {
  const states: string[] = [];
  const received: Received[] = [];
  const errors: unknown[] = [];
  const client = createCorbelClient<WeatherRouter>({
    url: urls,
    maxReconnectDelayMs: 500,
    onStateChange: (c) => states.push(c.state),
  });
  let markLive!: () => void;
  const live = new Promise<void>((resolve) => {
    markLive = resolve;
  });
  const sub = client.weather.readings.subscribe(lastEventId ? { lastEventId } : {}, {
    onStarted: () => markLive(),
    onData: ({ id, data }) => received.push({ id, city: data.city, celsius: data.celsius }),
    onError: (error) => errors.push(error),
  });
  return { name, received, states, errors, live, close: () => sub.unsubscribe() };
}

export { until } from '@corbel/testing';

/** Orders Redis stream ids `<ms>-<seq>`. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
