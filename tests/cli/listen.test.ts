import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationProcess, startStationProcess } from '../../apps/weather/test/station-process.js';
import { runCorbel, startCorbel } from './run-corbel.js';

let station: StationProcess;

beforeAll(async () => {
  station = await startStationProcess(['--store', 'memory']);
});
afterAll(async () => {
  await station?.[Symbol.asyncDispose]();
});

const report = async (url: string, city: string, celsius: number): Promise<string> => {
  const res = await runCorbel(['call', url, 'weather.report', JSON.stringify({ city, celsius })]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).id;
};

const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { id: string; data: { city: string; celsius: number; at: string } });

describe('corbel listen', () => {
  it('--count N prints N events as JSON lines with their ids, then exits 0', async () => {
    await using listen = await startCorbel(
      ['listen', station.url, 'weather.readings', '{"city":"Tromsø"}', '--count', '2', '--json'],
      /^live$/,
    );
    const ids = [await report(station.url, 'Tromsø', 1), await report(station.url, 'Tromsø', 2)];
    expect(await listen.exited).toBe(0);
    const out = listen.lines.filter((l) => l.startsWith('{'));
    const got = out.map((l) => JSON.parse(l));
    expect(got.map((e) => e.id)).toEqual(ids);
    expect(got.map((e) => e.data.celsius)).toEqual([1, 2]);
    expect(listen.lines).toContain('connecting to ' + `${station.url}/rpc/weather.readings…`);
  });

  it('--since <id> starts right after that id', async () => {
    const first = await report(station.url, 'Narvik', 1);
    const second = await report(station.url, 'Narvik', 2);
    const third = await report(station.url, 'Narvik', 3);
    const res = await runCorbel([
      'listen',
      station.url,
      'weather.readings',
      '{"city":"Narvik"}',
      '--since',
      first,
      '--count',
      '2',
      '--json',
      '-q',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    expect(events(res.stdout).map((e) => e.id)).toEqual([second, third]);
  });

  it('prints readable lines on a terminal-less run without --json: id, then the event', async () => {
    const since = await report(station.url, 'Bodø', 1);
    await report(station.url, 'Bodø', 7);
    const res = await runCorbel([
      'listen',
      station.url,
      'weather.readings',
      '--since',
      since,
      '--count',
      '1',
      '-q',
    ]);
    // Piped stdout means plain JSON, as with call.
    expect(res.code, res.stderr).toBe(0);
    expect(events(res.stdout)[0]!.data).toMatchObject({ city: 'Bodø', celsius: 7 });
  });

  it('Ctrl-C stops it with exit 0 after saying how many events it received', async () => {
    await using listen = await startCorbel(
      ['listen', station.url, 'weather.readings', '{"city":"Alta"}'],
      /^live$/,
    );
    await report(station.url, 'Alta', 5);
    await listen.waitForLine(/"city":"Alta"/);
    listen.child.kill('SIGINT');
    expect(await listen.exited).toBe(0);
    expect(listen.lines).toContain('received 1 event');
  });
});

describe('corbel listen across a station restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'corbel-cli-restart-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('reconnects, resumes after the last id, and misses nothing', async () => {
    let durable = await startStationProcess([], { dataDir });
    const port = new URL(durable.url).port;
    try {
      await using listen = await startCorbel(
        ['listen', durable.url, 'weather.readings', '{"city":"Kiruna"}', '--count', '3', '--json'],
        /^live$/,
      );
      await report(durable.url, 'Kiruna', 1);
      await listen.waitForLine(/"celsius":1/);

      await durable[Symbol.asyncDispose]();
      await listen.waitForLine(/^reconnecting/);
      durable = await startStationProcess(['--port', port], { dataDir });
      await report(durable.url, 'Kiruna', 2);
      await report(durable.url, 'Kiruna', 3);

      expect(await listen.exited).toBe(0);
      const got = listen.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(got.map((e) => e.data.celsius)).toEqual([1, 2, 3]);
      expect(new Set(got.map((e) => e.id)).size).toBe(3);
      expect(listen.lines.filter((l) => l === 'live').length).toBeGreaterThanOrEqual(2);
    } finally {
      await durable[Symbol.asyncDispose]();
    }
  });
});
