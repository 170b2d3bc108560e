import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { report, startStation } from './station-helpers.js';

const stationEntry = new URL('../../apps/weather/src/station.ts', import.meta.url).pathname;

/** Runs the station CLI to its exit (it is expected to refuse to start). */
function runStation(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@corbel/source', '--import', 'tsx', stationEntry, '--port', '0', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c) => {
      output += c;
    });
    child.stderr.on('data', (c) => {
      output += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-startup-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('station start-up on a bad --data directory', () => {
  it('refuses a second station on the same --data with one clear line', async () => {
    const dir = tempDir();
    await using first = await startStation(dir);
    expect(await report(first.ready, 'Oslo', 1)).not.toBeNull();
    const second = await runStation(['--data', dir]);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`event store ${join(dir, 'events.db')} is in use by another process`);
    expect(second.output).toMatch(/different --data directory/);
    expect(second.output).not.toMatch(/\n\s+at /); // no stack trace
    expect(second.output).not.toContain('listening on');
  });

  it('refuses a truncated file instead of starting with an empty history', async () => {
    const dir = tempDir();
    {
      await using station = await startStation(dir);
      for (let i = 0; i < 300; i++) await report(station.ready, `City ${i} ${'x'.repeat(80)}`, i % 100);
    }
    const file = join(dir, 'events.db');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const result = await runStation(['--data', dir]);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`event store ${file} is damaged`);
    expect(result.output).toMatch(/Restore it from a backup, or move it aside/);
    expect(result.output).not.toMatch(/\n\s+at /);
  });

  it('refuses a file that is not a database', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'events.db'), 'definitely not SQLite '.repeat(500));
    const result = await runStation(['--data', dir]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('is damaged');
    expect(result.output).not.toMatch(/\n\s+at /);
  });
});

describe('station start-up with a bad --trust-proxy', () => {
  it('refuses an entry that is not an address or CIDR, with exit 2 and one clear line', async () => {
    const run = await runStation(['--trust-proxy', '127.0.0.1,localhost']);
    expect(run.code).toBe(2);
    expect(run.output).toContain('--trust-proxy: "localhost" is not an IP address or CIDR');
    expect(run.output).not.toContain('listening on');
  });
});
