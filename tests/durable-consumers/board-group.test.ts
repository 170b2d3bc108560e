import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { report, startStation, until } from '../durability/station-helpers.js';
import { printedCities, startDurableBoard } from './durable-board.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-durable-group-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const reportAll = async (url: string, cities: string[]) => {
  for (const city of cities) expect(await report(url, city, 1)).not.toBeNull();
};
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('boards sharing one --durable name (a consumer group)', () => {
  it('share the readings: each is printed by exactly one of them', async () => {
    await using station = await startStation(tempDir());
    await using a = await startDurableBoard(station.ready, 'pool');
    await using b = await startDurableBoard(station.ready, 'pool');
    const cities = names('G', 30);
    await reportAll(station.ready, cities);
    const all = () => [...printedCities(a.lines), ...printedCities(b.lines)];
    await until(() => all().length >= cities.length, {
      what: 'the two boards to print 30 readings together',
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(all().sort()).toEqual([...cities].sort());
    expect(printedCities(a.lines).length).toBeGreaterThan(0);
    expect(printedCities(b.lines).length).toBeGreaterThan(0);
  });

  it('a member SIGKILLed with readings in flight has them handed to another member', async () => {
    await using station = await startStation(tempDir());
    const a = await startDurableBoard(station.ready, 'crew');
    await using b = await startDurableBoard(station.ready, 'crew');
    const cities = names('K', 20);
    try {
      // Frozen, board A still holds its stream: readings handed to it stay unacknowledged.
      a.child.kill('SIGSTOP');
      await reportAll(station.ready, cities);
      await until(() => printedCities(b.lines).length > 0, {
        what: 'board B to print its share',
        timeoutMs: 30_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(printedCities(b.lines).length).toBeLessThan(cities.length);
    } finally {
      a.child.kill('SIGKILL');
      await a.exited;
    }
    await until(() => printedCities(b.lines).length >= cities.length, {
      what: "board B to print A's readings too",
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(printedCities(a.lines)).toEqual([]);
    expect([...printedCities(b.lines)].sort()).toEqual([...cities].sort());
    expect(b.lines.some((l) => l.startsWith('-- redelivered (delivery 2)'))).toBe(true);
  });
});
