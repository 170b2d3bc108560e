import { queryInput, requireNginx, startBufferingNginx } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { startStationProcess } from '../../apps/weather/test/station-process.js';
import { startCorbel } from '../cli/run-corbel.js';
import { boardReadingIds, report, until } from '../durability/station-helpers.js';
import { startBoardWith } from './board-process.js';

const nginxAvailable = requireNginx('long poll through a buffering nginx');

/** What an SSE request gets within `ms`: its status, or 'nothing' when not even headers came. */
async function firstResponse(url: string, ms: number): Promise<number | 'nothing'> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    const res = await fetch(`${url}/rpc/weather.readings?${queryInput({})}`, {
      headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' },
      signal: ac.signal,
    });
    const status = res.status;
    await res.body?.cancel().catch(() => {});
    return status;
  } catch {
    return 'nothing';
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!nginxAvailable)('through an nginx that gzips and buffers event streams', () => {
  it('the stream is held back (not even headers) while commands and long polls pass', async () => {
    await using station = await startStationProcess();
    await using proxy = await startBufferingNginx(station.url);
    // The control: straight to the station the stream opens at once.
    expect(await firstResponse(station.url, 3000)).toBe(200);
    expect(await firstResponse(proxy.url, 3000)).toBe('nothing');
    const id = await report(proxy.url, 'Oslo', 1);
    expect(id).not.toBeNull();
    const poll = await fetch(`${proxy.url}/rpc/weather.readings?${queryInput({})}&longPoll=1&wait=0`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(poll.status).toBe(200);
    expect(((await poll.json()) as any).result.data.lastEventId).toBe(id);
  });

  it('corbel listen --transport auto gets every event through it (built CLI)', async () => {
    await using station = await startStationProcess();
    await using proxy = await startBufferingNginx(station.url);
    expect(await report(station.url, 'Before', 0)).not.toBeNull();
    await using listen = await startCorbel(
      ['listen', proxy.url, 'weather.readings', '--count', '3', '--json', '--transport', 'auto'],
      /^live \(long polling\)$/,
    );
    const ids = [];
    for (let i = 1; i <= 3; i++) ids.push(await report(proxy.url, 'Oslo', i));
    expect(await listen.exited).toBe(0);
    const got = listen.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).id);
    expect(got).toEqual(ids);
  });

  for (const transport of ['auto', 'long-poll'] as const) {
    it(`a board with --transport ${transport} prints every reading, once`, async () => {
      await using station = await startStationProcess();
      await using proxy = await startBufferingNginx(station.url);
      expect(await report(station.url, 'Before', 0)).not.toBeNull();
      await using board = await startBoardWith(proxy.url, transport);
      expect(board.lines.some((l) => /-- live on .* \(long polling\)/.test(l))).toBe(true);
      const ids: string[] = [];
      for (let i = 0; i < 15; i++) {
        const id = await report(proxy.url, i % 2 ? 'Oslo' : 'Rome', i);
        expect(id).not.toBeNull();
        ids.push(id!);
      }
      await until(() => boardReadingIds(board.lines).includes(ids.at(-1)!), {
        what: 'the last reading',
        timeoutMs: 20_000,
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(boardReadingIds(board.lines)).toEqual(ids);
    });
  }
});
