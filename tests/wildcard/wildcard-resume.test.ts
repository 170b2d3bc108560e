import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, defineChannel, initCorbel, matchChannels, subscribeWildcard } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { openSqliteStore } from '@corbel/store-sqlite';
import { openSse, queryInput } from '@corbel/testing';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const schema = z.object({ n: z.number().int() });
const channels = ['weather.alerts', 'weather.readings', 'weather.stations', 'jobs.progress'].map((name) =>
  defineChannel(name, schema),
);
const weatherStar = matchChannels('weather.*', channels);

/** A server (SQLite store in `dir`) with `all`: a stream over weather.* resumable by one token. */
async function serve(dir: string) {
  const store = openSqliteStore({ dataDir: dir });
  const hub = createHub({ log: store.log });
  const t = initCorbel();
  const router = t.router({
    all: t.procedure
      .input(z.object({ lastEventId: z.string().max(1000).optional() }).optional())
      .subscription(({ input, signal }) =>
        subscribeWildcard(hub, weatherStar, { after: input?.lastEventId, signal }),
      ),
  });
  const server = createCorbelServer({ router, metrics: false });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const publish = async (channel: string, n: number) =>
    hub.publish(channels.find((c) => c.name === channel)!, { n });
  return {
    url,
    publish,
    close: async () => {
      await server.close();
      await hub.close();
    },
  };
}

const at = (data: string) => {
  const { channel, payload } = superjson.parse(data) as { channel: string; payload: { n: number } };
  return `${channel.split('.')[1]}${payload.n}`;
};

describe('a weather.* stream over three channels, resumed over the wire by one token', () => {
  it('resumes every member exactly after a server restart (SQLite), in each channel’s order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-wildcard-'));
    let service = await serve(dir);
    try {
      const path = `${service.url}/rpc/all?${queryInput({})}`;
      const first = await openSse(path);
      for (let n = 1; n <= 2; n++)
        for (const ch of ['weather.alerts', 'weather.readings', 'weather.stations'])
          await service.publish(ch, n);
      await service.publish('jobs.progress', 1);
      const frames = await first.collect(4, 5000);
      const data = frames.filter((f) => f.event === '' || f.event === 'message');
      expect(data.map((f) => at(f.data))).toEqual(['alerts1', 'readings1', 'stations1', 'alerts2']);
      const token = data.at(-1)!.id!;
      expect(token).toMatch(/^weather\.alerts=[^,]+,weather\.readings=[^,]+,weather\.stations=[^,]+$/);
      first.close();

      await service.close();
      service = await serve(dir);
      await service.publish('weather.stations', 3);
      await service.publish('weather.alerts', 3);
      await using again = await openSse(`${service.url}/rpc/all?${queryInput({})}`, {
        'last-event-id': token,
      });
      expect(again.status).toBe(200);
      const rest = (await again.collect(4, 5000)).filter((f) => f.event === '' || f.event === 'message');
      const got = rest.map((f) => at(f.data));
      expect([...got].sort()).toEqual(['alerts3', 'readings2', 'stations2', 'stations3']);
      expect(got.filter((x) => x.startsWith('stations'))).toEqual(['stations2', 'stations3']);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a token that is not one is refused before the stream starts (400 INVALID_EVENT_ID)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-wildcard-'));
    const service = await serve(dir);
    try {
      await using refused = await openSse(`${service.url}/rpc/all?${queryInput({})}`, {
        'last-event-id': 'jobs.progress=1-1',
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toContain('INVALID_EVENT_ID');
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
