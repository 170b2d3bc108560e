import type { Hub } from '@corbel/core';
import { type LatestReadings, type Reading, readingsChannel } from './router.js';

/**
 * The latest reading per city, rebuilt from the retained log at start-up so
 * `weather.latest` answers the same after a restart of a durable station.
 */
export async function loadLatestReadings(hub: Hub): Promise<LatestReadings> {
  const byCity = new Map<string, Reading>();
  let after: string | undefined;
  for (;;) {
    const page = await hub.log.read(readingsChannel.name, { after, limit: 1000 });
    for (const event of page) byCity.set((event.payload as Reading).city, event.payload as Reading);
    if (page.length < 1000) break;
    after = page.at(-1)!.id;
  }
  return {
    get: (city) => byCity.get(city) ?? null,
    set: (reading) => {
      byCity.set(reading.city, reading);
    },
  };
}
