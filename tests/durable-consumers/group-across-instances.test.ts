import { requireRedisServer, startProcess, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { report, until } from '../durability/station-helpers.js';
import { startRedisStation } from '../redis/fixture.js';
import { printedCities, startDurableBoard } from './durable-board.js';

const boardEntry = new URL('../../apps/weather/src/board.ts', import.meta.url).pathname;
const tsxLoader = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

const redisAvailable = requireRedisServer('tests/durable-consumers/group-across-instances');

const reportAll = async (url: string, cities: string[]) => {
  for (const city of cities) expect(await report(url, city, 1)).not.toBeNull();
};

describe.skipIf(!redisAvailable)('one --durable name on two stations sharing a Redis', () => {
  it('the second station refuses the name with CONSUMER_ELSEWHERE while the first holds it, and takes it over (unacknowledged readings included) once the first dies and its claim lapses', async () => {
    await using redis = await startRedisServer();
    const a = await startRedisStation(redis.url);
    try {
      await using b = await startRedisStation(redis.url);
      const first = await startDurableBoard(a.ready, 'g');
      try {
        // Frozen, board A still holds its stream: readings handed to it stay unacknowledged.
        first.child.kill('SIGSTOP');
        await reportAll(a.ready, ['H1', 'H2', 'H3']);
        // Refused, not silently made a second coordinator of the group: the board says so and keeps retrying.
        await using second = await startProcess(
          process.execPath,
          [
            '--conditions=@corbel/source',
            '--import',
            tsxLoader,
            boardEntry,
            '--url',
            b.ready,
            '--durable',
            'g',
          ],
          { ready: /-- reconnecting \((CONSUMER_ELSEWHERE: .*)\)…$/, timeoutMs: 30_000 },
        );
        expect(second.ready).toMatch(
          /^CONSUMER_ELSEWHERE: consumer "g" on weather\.readings is coordinated by another instance/,
        );
        expect(printedCities(second.lines)).toEqual([]);

        await a.stop('SIGKILL');
        await reportAll(b.ready, ['H4', 'H5']);
        // The claim lapses within 15 s; the board retries with backoff of at most 5 s.
        await until(() => printedCities(second.lines).length >= 5, {
          what: 'the board on station B to print H1..H5',
          timeoutMs: 40_000,
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(printedCities(second.lines)).toEqual(['H1', 'H2', 'H3', 'H4', 'H5']);
        expect(printedCities(first.lines)).toEqual([]);
      } finally {
        first.child.kill('SIGKILL');
        await first.exited;
      }
    } finally {
      await a.stop('SIGKILL');
    }
  }, 120_000);
});
