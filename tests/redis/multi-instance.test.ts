import { createCorbelClient } from '@corbel/client';
import { requireRedisServer, type StartedProcess, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { compareIds, startRedisStation, subscribeReadings, until } from './fixture.js';

const redisAvailable = requireRedisServer('tests/redis/multi-instance');

describe.skipIf(!redisAvailable)('three stations on one Redis', () => {
  it('every subscriber gets every reading in one order; after SIGKILL of one station and SIGTERM of another their subscribers resume elsewhere with nothing lost or repeated', async () => {
    await using redis = await startRedisServer();
    const stations: StartedProcess[] = [];
    try {
      for (let i = 0; i < 3; i++) stations.push(await startRedisStation(redis.url));
      const urls = stations.map((s) => s.ready);
      // Two subscribers start on each station; each knows all three in rotated order.
      const subscribers = [0, 1, 2, 3, 4, 5].map((i) => {
        const start = i % 3;
        return subscribeReadings(
          `sub${i}@station${start}`,
          [0, 1, 2].map((k) => urls[(start + k) % 3]!),
        );
      });
      await Promise.all(subscribers.map((s) => s.live));
      const reporters = urls.map((url) => createCorbelClient<WeatherRouter>({ url }));

      // Readings reported to all three stations, concurrently.
      const acked: string[] = [];
      const reportRound = async (round: number, on: number[]) => {
        await Promise.all(
          on.map(async (s) => {
            for (let k = 0; k < 10; k++) {
              const { id } = await reporters[s]!.weather.report.mutate({
                city: `city-${s}`,
                celsius: round * 10 + k,
              });
              acked.push(id);
            }
          }),
        );
      };
      await reportRound(0, [0, 1, 2]);
      const all = () => [...acked].sort(compareIds);
      const counts = () =>
        subscribers.map((s) => `${s.name}: ${s.received.length}/${acked.length}`).join(', ');
      await until(() => subscribers.every((s) => s.received.length >= acked.length), {
        what: () => `every subscriber to have every reading (${counts()})`,
        timeoutMs: 30_000,
      });
      for (const s of subscribers) expect(s.received.map((r) => r.id)).toEqual(all());
      // weather.latest on every station knows readings reported to the others.
      for (const reporter of reporters) {
        for (const city of ['city-0', 'city-1', 'city-2']) {
          expect(await reporter.weather.latest.query({ city })).toMatchObject({ city, celsius: 9 });
        }
      }

      // SIGKILL station 0; its subscribers move to station 1 and resume by id.
      await stations[0]!.stop('SIGKILL');
      await reportRound(1, [1, 2]);
      await reportRound(2, [1, 2]);
      await until(() => subscribers.every((s) => s.received.length >= acked.length), {
        what: () => `every subscriber to have every reading (${counts()})`,
        timeoutMs: 30_000,
      });
      // A little longer: anything repeated would show up now.
      await new Promise((r) => setTimeout(r, 300));
      const expected = all();
      expect(expected.length).toBe(70);
      for (const s of subscribers) {
        const ids = s.received.map((r) => r.id);
        expect(new Set(ids).size, `${s.name} got a reading twice`).toBe(ids.length);
        expect(ids, `${s.name} order or loss`).toEqual(expected);
        expect(s.errors).toEqual([]);
      }
      // The subscribers of the killed station did reconnect (the others never had to).
      for (const s of subscribers.filter((x) => x.name.endsWith('@station0')))
        expect(s.states).toContain('reconnecting');
      // Same order and payloads everywhere.
      const reference = JSON.stringify(subscribers[0]!.received);
      for (const s of subscribers) expect(JSON.stringify(s.received)).toBe(reference);

      // A graceful stop (SIGTERM: streams end with the retryable DRAINING error) moves everyone to station 2.
      await stations[1]!.stop('SIGTERM');
      await reportRound(3, [2]);
      await until(() => subscribers.every((s) => s.received.length >= acked.length), {
        what: () => `every subscriber to have every reading (${counts()})`,
        timeoutMs: 30_000,
      });
      await new Promise((r) => setTimeout(r, 300));
      const final = all();
      expect(final.length).toBe(80);
      for (const s of subscribers) {
        expect(
          s.received.map((r) => r.id),
          `${s.name} after the drain`,
        ).toEqual(final);
        expect(s.errors).toEqual([]);
      }
      for (const s of subscribers) s.close();
    } finally {
      for (const s of stations) await s.stop('SIGKILL');
    }
  });
});
