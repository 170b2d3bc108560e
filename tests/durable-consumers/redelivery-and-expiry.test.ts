import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { report, startStation, until } from '../durability/station-helpers.js';
import { printedCities, startDurableBoard } from './durable-board.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-durable-expiry-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const reportAll = async (url: string, cities: string[]) => {
  for (const city of cities) expect(await report(url, city, 1)).not.toBeNull();
};

describe('durable boards and the station’s timeouts', () => {
  it('readings a frozen member does not acknowledge within --ack-timeout go to another member, and the frozen one, thawed, prints none of them', async () => {
    await using station = await startStation(tempDir(), 0, ['--ack-timeout', '1']);
    const frozen = await startDurableBoard(station.ready, 'shift');
    await using awake = await startDurableBoard(station.ready, 'shift');
    const cities = Array.from({ length: 12 }, (_, i) => `T${i + 1}`);
    try {
      frozen.child.kill('SIGSTOP');
      await reportAll(station.ready, cities);
      // Only after the ack timeout can the awake board have every reading.
      await until(() => printedCities(awake.lines).length >= cities.length, {
        what: 'the awake board to print all 12',
        timeoutMs: 30_000,
      });
      expect(awake.lines.some((l) => l.startsWith('-- redelivered (delivery 2)'))).toBe(true);
      frozen.child.kill('SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(printedCities(frozen.lines)).toEqual([]);
      expect([...printedCities(awake.lines)].sort()).toEqual([...cities].sort());
    } finally {
      frozen.child.kill('SIGKILL');
      await frozen.exited;
    }
  });

  it('a board that comes back after --consumer-ttl is told its history is gone (never a silent gap), then prints live readings', async () => {
    await using station = await startStation(tempDir(), 0, ['--consumer-ttl', '1']);
    const first = await startDurableBoard(station.ready, 'late');
    try {
      await reportAll(station.ready, ['E1']);
      await until(() => printedCities(first.lines).includes('E1'), {
        what: 'the board to print E1',
        timeoutMs: 30_000,
      });
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    await reportAll(station.ready, ['E2']);
    // The station keeps a consumer 5 s after its last member left, then the 1 s TTL runs.
    await new Promise((resolve) => setTimeout(resolve, 7500));
    await using second = await startDurableBoard(station.ready, 'late');
    await until(() => second.lines.some((l) => l.startsWith('-- history gone:') && l.includes('expired')), {
      what: 'the board to say its history is gone',
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await reportAll(station.ready, ['E3']);
    await until(() => printedCities(second.lines).includes('E3'), {
      what: 'the board to print E3 live',
      timeoutMs: 30_000,
    });
    expect(printedCities(second.lines)).toEqual(['E3']);
  });
});
