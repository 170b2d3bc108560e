import { errorShape, requireRedisServer, type StartedProcess, startRedisServer } from '@corbel/testing';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { compareIds, startRedisStation, subscribeReadings, until } from './fixture.js';

const redisAvailable = requireRedisServer('tests/redis/redis-restart');

interface Attempt {
  city: string;
  startedAt: number;
  endedAt: number;
  id?: string;
  status?: number;
  corbelCode?: string;
  transportError?: string;
}

/** Reports one reading over plain HTTP and records exactly what the station answered. */
async function report(url: string, city: string): Promise<Attempt> {
  const attempt: Attempt = { city, startedAt: Date.now(), endedAt: 0 };
  try {
    const res = await fetch(`${url}/rpc/weather.report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(superjson.serialize({ city, celsius: 1 })),
      signal: AbortSignal.timeout(15_000),
    });
    attempt.status = res.status;
    const json = (await res.json()) as any;
    if (res.status === 200) attempt.id = (superjson.deserialize(json.result.data) as { id: string }).id;
    else attempt.corbelCode = errorShape(json).data?.corbelCode;
  } catch (error) {
    attempt.transportError = String(error);
  }
  attempt.endedAt = Date.now();
  return attempt;
}

describe.skipIf(!redisAvailable)('Redis restarted under two running stations', () => {
  it('keeps every acknowledged reading, refuses the rest with STORE_UNAVAILABLE, and resumes delivery without restarting the stations', async () => {
    // Append-only file fsynced before each reply: what Redis acknowledged survives SIGKILL.
    await using redis = await startRedisServer({ persistence: 'aof' });
    const stations: StartedProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) stations.push(await startRedisStation(redis.url));
      const urls = stations.map((s) => s.ready);
      const pids = stations.map((s) => s.child.pid);
      const subscribers = [0, 1, 2, 3].map((i) =>
        subscribeReadings(`sub${i}`, [urls[i % 2]!, urls[(i + 1) % 2]!]),
      );
      await Promise.all(subscribers.map((s) => s.live));

      // Two reporters, one per station, report without pause for the whole test.
      const attempts: Attempt[] = [];
      let stop = false;
      const reporters = urls.map(async (url, r) => {
        for (let n = 0; !stop; n++) {
          attempts.push(await report(url, `r${r}-${n}`));
          if (attempts.at(-1)!.id === undefined) await new Promise((res) => setTimeout(res, 20));
        }
      });
      const ackedCount = () => attempts.filter((a) => a.id).length;

      await until(() => ackedCount() >= 30, {
        what: () => `30 acked reports (acked ${ackedCount()})`,
        timeoutMs: 30_000,
      });
      const killStart = Date.now();
      await redis.kill('SIGKILL');
      const killEnd = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const restartStart = Date.now();
      await redis.start();
      const ackedBeforeRestart = ackedCount();
      await until(() => ackedCount() >= ackedBeforeRestart + 30, {
        what: () => `30 more acked reports after the restart (acked ${ackedCount()})`,
        timeoutMs: 30_000,
      });
      stop = true;
      await Promise.all(reporters);

      const acked = attempts.filter((a) => a.id).map((a) => a.id!);
      const expected = [...acked].sort(compareIds);
      await until(() => subscribers.every((s) => s.received.length >= expected.length), {
        what: () =>
          `every subscriber to have every reading (${subscribers.map((s) => `${s.name}: ${s.received.length}/${expected.length}`).join(', ')})`,
        timeoutMs: 30_000,
      });
      await new Promise((r) => setTimeout(r, 300));

      // While Redis was certainly down, every report was refused with a clear, retryable 503.
      const whileDown = attempts.filter((a) => a.startedAt > killEnd && a.endedAt < restartStart);
      expect(whileDown.length).toBeGreaterThan(0);
      for (const a of whileDown) {
        expect(a.status, JSON.stringify(a)).toBe(503);
        expect(a.corbelCode).toBe('STORE_UNAVAILABLE');
      }
      // A refused report may only have been stored if it was in flight at the moment of the kill.
      const refused = attempts.filter((a) => !a.id);
      const inFlightAtKill = new Set(
        refused.filter((a) => a.startedAt <= killEnd && a.endedAt >= killStart).map((a) => a.city),
      );
      for (const s of subscribers) {
        const ids = s.received.map((r) => r.id);
        expect(new Set(ids).size, `${s.name} got a reading twice`).toBe(ids.length);
        expect([...ids].sort(compareIds), `${s.name} out of order`).toEqual(ids);
        // Every acknowledged reading arrived (none lost across the restart)…
        const got = new Set(ids);
        expect(
          acked.filter((id) => !got.has(id)),
          `${s.name} lost acknowledged readings`,
        ).toEqual([]);
        // …and nothing that was refused, except a report caught mid-flight by the kill.
        const ackedCities = new Set(attempts.filter((a) => a.id).map((a) => a.city));
        const extra = s.received.filter((r) => !ackedCities.has(r.city));
        for (const e of extra)
          expect(inFlightAtKill.has(e.city), `${s.name} got refused ${e.city}`).toBe(true);
        expect(s.errors).toEqual([]);
      }
      // The stations were never restarted.
      for (const [i, s] of stations.entries()) {
        expect(s.child.exitCode).toBeNull();
        expect(s.child.pid).toBe(pids[i]);
      }
      for (const s of subscribers) s.close();
      console.log(
        `redis restart: ${acked.length} acknowledged, ${refused.length} refused (${whileDown.length} while Redis was down, ${inFlightAtKill.size} in flight at the kill)`,
      );
    } finally {
      for (const s of stations) await s.stop('SIGKILL');
    }
  });
});
