import { createCorbelClient } from '@corbel/client';
import { requireRedisServer, type StartedProcess, startProcess, startRedisServer } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import type { StationRouter } from '../../apps/weather/src/station-sessions.js';
import { startRedisStation } from './fixture.js';

const redisAvailable = requireRedisServer('tests/redis/reverse-calls');
const boardEntry = new URL('../../apps/weather/src/board.ts', import.meta.url).pathname;

function startBoard(url: string, city: string): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', boardEntry, '--url', url, '--city', city],
    { ready: /-- live on (\S+)/, timeoutMs: 60_000 },
  );
}

describe.skipIf(!redisAvailable)('reverse calls across two stations on one Redis', () => {
  it('a call made on station A reaches a board connected to station B, and the answer returns to A', {
    timeout: 120_000,
  }, async () => {
    await using redis = await startRedisServer();
    await using a = await startRedisStation(redis.url);
    await using b = await startRedisStation(redis.url);
    // Each board is connected to one station only.
    await using onB = await startBoard(b.ready, 'Bergen');
    await using onA = await startBoard(a.ready, 'Aarhus');
    const clientA = createCorbelClient<StationRouter>({ url: a.ready });
    const clientB = createCorbelClient<StationRouter>({ url: b.ready });
    await clientA.weather.report.mutate({ city: 'Bergen', celsius: 7 });

    const deadline = Date.now() + 30_000;
    let list = await clientA.weather.boards.query();
    while (
      !(list.length === 2 && list.every((e) => 'city' in e && e.received === (e.city === 'Bergen' ? 1 : 0)))
    ) {
      if (Date.now() > deadline) throw new Error(`boards never answered on A: ${JSON.stringify(list)}`);
      await new Promise((r) => setTimeout(r, 200));
      list = await clientA.weather.boards.query();
    }
    expect(list.map((e) => ('city' in e ? e.city : e.error)).sort()).toEqual(['Aarhus', 'Bergen']);
    // B sees the same two boards the other way round.
    const fromB = await clientB.weather.boards.query();
    expect(fromB.map((e) => ('city' in e ? e.city : e.error)).sort()).toEqual(['Aarhus', 'Bergen']);
    // The calls were answered by the board processes themselves, each through its own station.
    expect(onB.lines.filter((l) => l.startsWith('-- board.describe answered')).length).toBeGreaterThan(0);
    expect(onA.lines.filter((l) => l.startsWith('-- board.describe answered')).length).toBeGreaterThan(0);

    // The board on B dies mid-call: A, which made the call, reports CLIENT_GONE (not a timeout).
    onB.child.kill('SIGSTOP');
    const pending = clientA.weather.boards.query();
    await new Promise((r) => setTimeout(r, 300));
    onB.child.kill('SIGKILL');
    const after = await pending;
    const gone = after.find((e) => !('city' in e));
    expect(gone && 'error' in gone ? gone.error : JSON.stringify(after)).toMatch(/^CLIENT_GONE/);
    expect(after.filter((e) => 'city' in e).map((e) => ('city' in e ? e.city : ''))).toEqual(['Aarhus']);
  });
});
