import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  errorShape,
  mutationBody,
  openSse,
  queryInput,
  rawRequest,
  requireRedisServer,
  resultData,
  startRedisServer,
} from '@corbel/testing';
import superjson from 'superjson';
import { afterAll, describe, expect, it } from 'vitest';
import { portOf, startStation } from '../durability/station-helpers.js';
import { startRedisStation } from '../redis/fixture.js';

/** POST /rpc/weather.report as a raw HTTP caller would, with `key` as its Idempotency-Key. */
function report(url: string, input: { city: string; celsius: number }, key?: string) {
  return rawRequest(`${url}/rpc/weather.report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: mutationBody(input),
  });
}

const idOf = (res: { json: unknown }) => resultData<{ id: string }>(res.json).id;

/**
 * The cities of every reading stored after `afterId`, up to a fresh end marker
 * (read from the log, so readings before a restart count too).
 */
async function citiesAfter(url: string, afterId: string): Promise<string[]> {
  const end = `end-${Math.random()}`;
  expect((await report(url, { city: end, celsius: 0 })).status).toBe(200);
  await using sse = await openSse(`${url}/rpc/weather.readings?${queryInput({})}`, {
    'last-event-id': afterId,
  });
  expect(sse.status).toBe(200);
  const cities: string[] = [];
  for (let i = 0; i < 1000 && cities.at(-1) !== end; i++) {
    const frame = await sse.next(10_000);
    if (!frame) break;
    if (frame.event === 'message' && frame.id)
      cities.push((superjson.parse(frame.data) as { city: string }).city);
  }
  expect(cities.at(-1)).toBe(end);
  return cities.slice(0, -1);
}

describe('weather.report with Idempotency-Key (the station CLI, over plain HTTP)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'corbel-idem-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('twice with one key gives one id and one reading, also after a SIGKILL and restart with --data', async () => {
    let station = await startStation(dataDir);
    try {
      const url = station.ready;
      const start = idOf(await report(url, { city: 'start', celsius: 0 }));
      const first = await report(url, { city: 'Oslo', celsius: -3 }, 'oslo-1');
      expect(first.status).toBe(200);
      const again = await report(url, { city: 'Oslo', celsius: -3 }, 'oslo-1');
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(first.text);
      const other = await report(url, { city: 'Oslo', celsius: 20 }, 'oslo-1');
      expect(other.status).toBe(422);
      expect(errorShape(other.json).data.corbelCode).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await citiesAfter(url, start)).toEqual(['Oslo']);

      // The plug is pulled; the station comes back on the same data and port.
      station.child.kill('SIGKILL');
      await station.exited;
      station = await startStation(dataDir, portOf(url));
      const afterRestart = await report(station.ready, { city: 'Oslo', celsius: -3 }, 'oslo-1');
      expect(afterRestart.status).toBe(200);
      expect(idOf(afterRestart)).toBe(idOf(first));
      expect((await report(station.ready, { city: 'Oslo', celsius: 20 }, 'oslo-1')).status).toBe(422);
      expect((await citiesAfter(station.ready, start)).filter((c) => c === 'Oslo')).toEqual(['Oslo']);
    } finally {
      await station.stop('SIGKILL');
    }
  });
});

const redisAvailable = requireRedisServer('tests/idempotency/weather-report (redis)');

describe.skipIf(!redisAvailable)('weather.report with Idempotency-Key on two stations sharing Redis', () => {
  it('the repeat on the other station gets the first id; one reading in the shared history', async () => {
    await using redis = await startRedisServer();
    await using a = await startRedisStation(redis.url);
    await using b = await startRedisStation(redis.url);
    const start = idOf(await report(a.ready, { city: 'start', celsius: 0 }));
    const first = await report(a.ready, { city: 'Rome', celsius: 18 }, 'rome-1');
    expect(first.status).toBe(200);
    const onB = await report(b.ready, { city: 'Rome', celsius: 18 }, 'rome-1');
    expect(onB.status).toBe(200);
    expect(onB.headers.get('idempotent-replayed')).toBe('true');
    expect(idOf(onB)).toBe(idOf(first));
    expect((await report(b.ready, { city: 'Rome', celsius: 19 }, 'rome-1')).status).toBe(422);
    // Concurrent repeats on both stations with a fresh key: one runs, every answer is its id.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        report(i % 2 ? a.ready : b.ready, { city: 'Pisa', celsius: 1 }, 'pisa-1'),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map(idOf)).size).toBe(1);
    const cities = await citiesAfter(b.ready, start);
    expect(cities.filter((c) => c === 'Rome')).toHaveLength(1);
    expect(cities.filter((c) => c === 'Pisa')).toHaveLength(1);
  });
});
