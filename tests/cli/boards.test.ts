import { type StartedProcess, startProcess } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationProcess, startStationProcess } from '../../apps/weather/test/station-process.js';
import { runCorbel } from './run-corbel.js';

const TOKEN = 'boards-secret';
const boardEntry = new URL('../../apps/weather/src/board.ts', import.meta.url).pathname;
let station: StationProcess;
let board: StartedProcess;

beforeAll(async () => {
  station = await startStationProcess(['--token', TOKEN, '--store', 'memory']);
  board = await startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', boardEntry, '--url', station.url, '--city', 'Tromsø'],
    { ready: /-- live on (\S+)/, env: { CORBEL_TOKEN: TOKEN }, timeoutMs: 60_000 },
  );
}, 120_000);
afterAll(async () => {
  await board?.[Symbol.asyncDispose]();
  await station?.[Symbol.asyncDispose]();
});

describe('corbel call <url>/rpc weather.boards', () => {
  it('shows every connected board as it describes itself', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await runCorbel(['call', `${station.url}/rpc`, 'weather.boards', '--json'], {
        env: { CORBEL_TOKEN: TOKEN },
      });
      expect(res.code, res.stderr).toBe(0);
      const boards = JSON.parse(res.stdout) as {
        ref: string;
        city?: string;
        received?: number;
        startedAt?: string;
      }[];
      if (boards.length === 1 && boards[0]!.city) {
        expect(boards[0]).toMatchObject({ city: 'Tromsø', received: 0 });
        expect(boards[0]!.ref).toMatch(/^[0-9a-f]{8}$/);
        expect(new Date(boards[0]!.startedAt!).toISOString()).toBe(boards[0]!.startedAt);
        return;
      }
      if (Date.now() > deadline) throw new Error(`the board never showed up: ${res.stdout}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});
