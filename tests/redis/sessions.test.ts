import { createCorbelClient } from '@corbel/client';
import { requireRedisServer, type StartedProcess, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import type { StationRouter } from '../../apps/weather/src/station-sessions.js';
import { startRedisStation, until } from './fixture.js';

const redisAvailable = requireRedisServer('tests/redis/sessions');

describe.skipIf(!redisAvailable)('sessions across stations on one Redis', () => {
  it('a session opened on one station is resumed, listed and messaged through the others', async () => {
    await using redis = await startRedisServer();
    const stations: StartedProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) stations.push(await startRedisStation(redis.url));
      const [a, b] = stations.map((s) => createCorbelClient<StationRouter>({ url: s.ready })) as [
        ReturnType<typeof createCorbelClient<StationRouter>>,
        ReturnType<typeof createCorbelClient<StationRouter>>,
      ];
      const { id: firstReading } = await a.weather.report.mutate({ city: 'Oslo', celsius: 1 });
      await b.weather.report.mutate({ city: 'Oslo', celsius: 2 });

      const opened = await a.session.open.mutate({});
      expect(opened.resumed).toBe(false);
      // Station b knows it: it resumes the session and sends the welcome-back note.
      const resumed = await b.session.open.mutate({
        resume: opened.id,
        cursors: { 'weather.readings': firstReading },
      });
      expect(resumed).toMatchObject({ id: opened.id, resumed: true });
      // Both stations list it.
      for (const client of [a, b]) {
        const live = await client.session.list.query();
        expect(live.map((s) => s.ref)).toContain(opened.id.slice(0, 8));
      }
      // The note b stored in the private channel is delivered by a.
      const notes: string[] = [];
      const sub = a.session.messages.subscribe(
        { id: opened.id },
        { onData: ({ data }) => notes.push((data as { text: string }).text) },
      );
      await until(() => notes.some((n) => n.includes('you missed 1 reading')), {
        what: () => `the note 'you missed 1 reading' (notes: ${JSON.stringify(notes)})`,
        timeoutMs: 30_000,
      });
      sub.unsubscribe();
    } finally {
      for (const s of stations) await s.stop('SIGKILL');
    }
  });
});
