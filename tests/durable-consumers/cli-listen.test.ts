import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartedProcess, startProcess } from '@corbel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CORBEL_BIN } from '../cli/run-corbel.js';
import { report, startStation, until } from '../durability/station-helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-durable-listen-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `corbel listen <url> weather.readings --durable <name> --json`, from a fresh working directory. */
function listenDurably(url: string, name: string, extra: string[] = []): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    [CORBEL_BIN, 'listen', url, 'weather.readings', '--durable', name, '--json', ...extra],
    { ready: /^(live)$/, cwd: tempDir(), env: { CORBEL_TOKEN: '', NO_COLOR: '1' }, timeoutMs: 30_000 },
  );
}

const cities = (lines: readonly string[]) =>
  lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { data: { city: string } }).data.city);

describe('corbel listen --durable', () => {
  it('SIGKILLed and run again with the same name from another directory, prints exactly what it had not printed, then live events', async () => {
    await using station = await startStation(tempDir());
    const first = await listenDurably(station.ready, 'audit');
    try {
      for (const city of ['L1', 'L2']) expect(await report(station.ready, city, 1)).not.toBeNull();
      await until(() => cities(first.lines).includes('L2'), {
        what: 'the first listener to print L1, L2',
        timeoutMs: 30_000,
      });
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    for (const city of ['M1', 'M2']) expect(await report(station.ready, city, 1)).not.toBeNull();
    await using second = await listenDurably(station.ready, 'audit');
    await until(() => cities(second.lines).includes('M2'), {
      what: 'the second listener to print M1, M2',
      timeoutMs: 30_000,
    });
    expect(await report(station.ready, 'N1', 1)).not.toBeNull();
    await until(() => cities(second.lines).includes('N1'), {
      what: 'the second listener to print N1 live',
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cities(first.lines)).toEqual(['L1', 'L2']);
    expect(cities(second.lines)).toEqual(['M1', 'M2', 'N1']);
  });

  it('--count N prints N and leaves the rest for the next run', async () => {
    await using station = await startStation(tempDir());
    // The first run creates the consumer (at the newest reading) and stops after one.
    const first = await listenDurably(station.ready, 'batch', ['--count', '1']);
    for (const city of ['P1', 'P2', 'P3']) expect(await report(station.ready, city, 1)).not.toBeNull();
    expect(await first.exited).toBe(0);
    const second = await listenDurably(station.ready, 'batch', ['--count', '2']);
    expect(await second.exited).toBe(0);
    expect(cities(first.lines)).toEqual(['P1']);
    expect(cities(second.lines)).toEqual(['P2', 'P3']);
  });
});
