import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCorbelClient } from '@corbel/client';
import { queryInput, requireRedisServer, startRedisServer } from '@corbel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { portOf, report, startStation, until } from '../durability/station-helpers.js';
import { startTestService, ticks } from '../foundation/fixture.js';
import { startRedisStation } from '../redis/fixture.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A long-poll client on weather.readings from `lastEventId`, recording the ids it gets. */
function pollReadings(url: string | string[], lastEventId: string) {
  const ids: string[] = [];
  const errors: unknown[] = [];
  const client = createCorbelClient<WeatherRouter>({
    url,
    transport: 'long-poll',
    longPollWaitMs: 2000,
    maxReconnectDelayMs: 300,
  });
  const sub = client.weather.readings.subscribe(
    { lastEventId },
    { onData: ({ id }) => ids.push(id), onError: (e) => errors.push(e) },
  );
  return { ids, errors, stop: () => sub.unsubscribe() };
}

describe('long polls across a station restart (SQLite)', () => {
  it('misses nothing and repeats nothing after a SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'corbel-lp-'));
    dirs.push(dataDir);
    let station = await startStation(dataDir);
    const port = portOf(station.ready);
    try {
      const first = (await report(station.ready, 'Start', 0))!;
      const client = pollReadings(station.ready, first);
      const ids: string[] = [];
      for (let i = 1; i <= 3; i++) ids.push((await report(station.ready, 'Before', i))!);
      await until(() => client.ids.length === 3, { what: 'the first readings', timeoutMs: 30_000 });
      station.child.kill('SIGKILL');
      await station.exited;
      station = await startStation(dataDir, port);
      for (let i = 4; i <= 6; i++) ids.push((await report(station.ready, 'After', i))!);
      await until(() => client.ids.length >= 6, {
        what: 'the readings after the restart',
        timeoutMs: 30_000,
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(client.ids).toEqual(ids);
      expect(client.errors).toEqual([]);
      client.stop();
    } finally {
      await station.stop();
    }
  });
});

const redisAvailable = requireRedisServer('long polls across instances');

describe.skipIf(!redisAvailable)('long polls across instances (Redis)', () => {
  it('moves to the next instance when the first goes away, resuming by id', async () => {
    await using redis = await startRedisServer();
    const a = await startRedisStation(redis.url);
    const b = await startRedisStation(redis.url);
    try {
      const first = (await report(a.ready, 'Start', 0))!;
      const client = pollReadings([a.ready, b.ready], first);
      const ids: string[] = [];
      for (let i = 1; i <= 3; i++) ids.push((await report(a.ready, 'OnA', i))!);
      await until(() => client.ids.length === 3, { what: 'the readings from a', timeoutMs: 30_000 });
      a.child.kill('SIGKILL');
      await a.exited;
      for (let i = 4; i <= 6; i++) ids.push((await report(b.ready, 'OnB', i))!);
      await until(() => client.ids.length >= 6, { what: 'the readings from b', timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(client.ids).toEqual(ids);
      client.stop();
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('a long poll held by 1,000 clients at once', () => {
  it('answers every one with the event, then holds nothing', async () => {
    await using svc = await startTestService();
    const { id } = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const port = Number(new URL(svc.url).port);
    const path = `/rpc/ticks?${queryInput({})}&longPoll=1&wait=30000&lastEventId=${id}`;
    const answers = Array.from(
      { length: 1000 },
      () =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
              body += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        }),
    );
    await until(() => svc.hub.stats().subscribers === 1000, {
      what: '1,000 polls waiting',
      timeoutMs: 30_000,
    });
    const started = Date.now();
    const next = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    const all = await Promise.all(answers);
    const ms = Date.now() - started;
    for (const answer of all) {
      expect(answer.status).toBe(200);
      const data = JSON.parse(answer.body).result.data;
      expect(data.events.map((e: { id: string }) => e.id)).toEqual([next.id]);
      expect(data.lastEventId).toBe(next.id);
    }
    expect(ms).toBeLessThan(10_000);
    await until(() => svc.hub.stats().subscribers === 0, { what: 'every poll released' });
  });
});
