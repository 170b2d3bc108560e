import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRedisServer, startRedisServer } from '@corbel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { portOf, report, startStation, until } from '../durability/station-helpers.js';
import { startRedisStation } from '../redis/fixture.js';
import { printedCities, startDurableBoard } from './durable-board.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-durable-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const has = (lines: readonly string[], city: string) => printedCities(lines).includes(city);
const reportAll = async (url: string, cities: string[]) => {
  for (const city of cities) expect(await report(url, city, 1)).not.toBeNull();
};

const redisAvailable = requireRedisServer('tests/durable-consumers/board-restart (instance switch)');

describe('a --durable board', () => {
  it('killed with SIGKILL and started again with the same name from another directory, prints exactly what it had not printed, then live readings', async () => {
    await using station = await startStation(tempDir());
    const first = await startDurableBoard(station.ready, 'north');
    try {
      await reportAll(station.ready, ['A1', 'A2', 'A3']);
      await until(() => has(first.lines, 'A3'), {
        what: 'the first board to print A1..A3',
        timeoutMs: 30_000,
      });
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    await reportAll(station.ready, ['B1', 'B2', 'B3']);
    // Another name is another consumer: it starts from now and does not take north's readings.
    await using other = await startDurableBoard(station.ready, 'south');
    await using second = await startDurableBoard(station.ready, 'north');
    await until(() => has(second.lines, 'B3'), {
      what: 'the restarted board to print B1..B3',
      timeoutMs: 30_000,
    });
    await reportAll(station.ready, ['C1']);
    await until(() => has(second.lines, 'C1') && has(other.lines, 'C1'), {
      what: 'both boards to print C1 live',
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(printedCities(first.lines)).toEqual(['A1', 'A2', 'A3']);
    expect(printedCities(second.lines)).toEqual(['B1', 'B2', 'B3', 'C1']);
    expect(printedCities(other.lines)).toEqual(['C1']);
  });

  it('keeps its position across a SIGKILL of the station (SQLite)', async () => {
    const dataDir = tempDir();
    let station = await startStation(dataDir);
    const port = portOf(station.ready);
    try {
      const first = await startDurableBoard(station.ready, 'east');
      try {
        await reportAll(station.ready, ['S1', 'S2']);
        await until(() => has(first.lines, 'S2'), { what: 'the board to print S1, S2', timeoutMs: 30_000 });
        station.child.kill('SIGKILL');
        await station.exited;
        station = await startStation(dataDir, port);
        await reportAll(station.ready, ['S3']);
        await until(() => has(first.lines, 'S3'), {
          what: 'the board to print S3 after the station restart',
          timeoutMs: 30_000,
        });
      } finally {
        first.child.kill('SIGKILL');
        await first.exited;
      }
      await reportAll(station.ready, ['S4', 'S5']);
      station.child.kill('SIGKILL');
      await station.exited;
      station = await startStation(dataDir, port);
      await using second = await startDurableBoard(station.ready, 'east');
      await until(() => has(second.lines, 'S5'), {
        what: 'the restarted board to print S4, S5',
        timeoutMs: 30_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(printedCities(first.lines)).toEqual(['S1', 'S2', 'S3']);
      expect(printedCities(second.lines)).toEqual(['S4', 'S5']);
    } finally {
      await station.stop();
    }
  });

  it.skipIf(!redisAvailable)(
    'moves to another station on the same Redis and prints exactly what it had not printed',
    async () => {
      await using redis = await startRedisServer();
      await using a = await startRedisStation(redis.url);
      await using b = await startRedisStation(redis.url);
      const first = await startDurableBoard(a.ready, 'west');
      try {
        await reportAll(a.ready, ['R1', 'R2']);
        await until(() => has(first.lines, 'R2'), {
          what: 'the board on station A to print R1, R2',
          timeoutMs: 30_000,
        });
      } finally {
        first.child.kill('SIGKILL');
        await first.exited;
      }
      await a.stop('SIGKILL');
      await reportAll(b.ready, ['R3', 'R4']);
      await using second = await startDurableBoard(b.ready, 'west');
      await until(() => has(second.lines, 'R4'), {
        what: 'the board on station B to print R3, R4',
        timeoutMs: 30_000,
      });
      await reportAll(b.ready, ['R5']);
      await until(() => has(second.lines, 'R5'), {
        what: 'the board on station B to print R5 live',
        timeoutMs: 30_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(printedCities(first.lines)).toEqual(['R1', 'R2']);
      expect(printedCities(second.lines)).toEqual(['R3', 'R4', 'R5']);
    },
  );
});
