import { createCorbelClient } from '@corbel/client';
import { mutationBody, rawRequest, type StartedProcess, startProcess, until } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { BoardEntry } from '../src/board-handlers.js';
import type { StationRouter } from '../src/station-sessions.js';
import { type StationProcess, startStationProcess } from './station-process.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const boardEntry = new URL('../src/board.ts', import.meta.url).pathname;

/** The real board CLI, as `npm run weather:board -- --url <url> --city <city>` runs it. */
function startBoard(url: string, city: string): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', boardEntry, '--url', url, '--city', city],
    { ready: /-- live on (\S+)/, timeoutMs: 60_000 },
  );
}

const answered = (e: BoardEntry | undefined) => e !== undefined && 'city' in e;
const errorOf = (e: BoardEntry | undefined) => (e && 'error' in e ? e.error : undefined);

let station: StationProcess;
let proxy: TcpProxy;
const boards: StartedProcess[] = [];
let client: ReturnType<typeof createCorbelClient<StationRouter>>;
const describeBoards = () => client.weather.boards.query();

/** Asks weather.boards until `ok` holds for the list; a timeout shows the last list. */
async function untilBoards(ok: (list: BoardEntry[]) => boolean, what: string): Promise<void> {
  let last: BoardEntry[] | undefined;
  const check = async () => {
    last = await describeBoards();
    return ok(last);
  };
  await until(check, {
    what: () => `${what}: ${JSON.stringify(last)}`,
    timeoutMs: 20_000,
  });
}

beforeAll(async () => {
  station = await startStationProcess(['--store', 'memory']);
  proxy = await startTcpProxy(new URL(station.url));
  client = createCorbelClient<StationRouter>({ url: station.url });
  // Oslo and Lima straight to the station; Quito through a proxy whose connections the test cuts.
  boards.push(await startBoard(station.url, 'Oslo'), await startBoard(station.url, 'Lima'));
  boards.push(await startBoard(proxy.url, 'Quito'));
  await untilBoards((list) => list.length === 3 && list.every(answered), 'three boards to answer');
}, 120_000);

afterAll(async () => {
  for (const board of boards) await board[Symbol.asyncDispose]();
  await proxy?.close();
  await station?.[Symbol.asyncDispose]();
});

describe('weather.boards: the station calls every board over its own link', () => {
  it('returns each board’s city, readings printed and start time', async () => {
    await client.weather.report.mutate({ city: 'Oslo', celsius: -3 });
    await client.weather.report.mutate({ city: 'Oslo', celsius: -4 });
    await client.weather.report.mutate({ city: 'Lima', celsius: 19 });
    const printed = (board: StartedProcess, city: string) =>
      board.lines.filter((l) => l.includes(` ${city} `)).length;
    await until(() => printed(boards[0]!, 'Oslo') === 2, {
      what: 'the Oslo board to print 2 readings',
      timeoutMs: 20_000,
    });
    await until(() => printed(boards[1]!, 'Lima') === 1, {
      what: 'the Lima board to print 1 reading',
      timeoutMs: 20_000,
    });
    const list = await describeBoards();
    // What a typed client infers for weather.boards: one entry per board, answered or not.
    expectTypeOf(list).toEqualTypeOf<
      (
        | { ref: string; city: string | null; received: number; startedAt: Date }
        | { ref: string; error: string }
      )[]
    >();
    expect(list).toHaveLength(3);
    const byCity = new Map(list.map((e) => [(e as { city: string }).city, e]));
    expect(byCity.get('Oslo')).toMatchObject({ city: 'Oslo', received: 2 });
    expect(byCity.get('Lima')).toMatchObject({ city: 'Lima', received: 1 });
    expect(byCity.get('Quito')).toMatchObject({ city: 'Quito', received: 0 });
    for (const e of list) {
      expect(e.ref).toMatch(/^[0-9a-f]{8}$/);
      expect((e as { startedAt: Date }).startedAt).toBeInstanceOf(Date);
      expect((e as { startedAt: Date }).startedAt.getTime()).toBeLessThanOrEqual(Date.now());
    }
  });

  it('a board frozen mid-call (SIGSTOP) times out while the others answer', async () => {
    const frozen = boards[1]!;
    frozen.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      const list = await describeBoards();
      const took = Date.now() - started;
      expect(list).toHaveLength(3);
      expect(
        list
          .filter(answered)
          .map((e) => (e as { city: string }).city)
          .sort(),
      ).toEqual(['Oslo', 'Quito']);
      expect(errorOf(list.find((e) => !answered(e)))).toMatch(/^TIMEOUT/);
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(5000);
    } finally {
      frozen.child.kill('SIGCONT');
    }
    // Thawed, it answers again (the withdrawn call is not run late: it was cancelled).
    await untilBoards((l) => l.length === 3 && l.every(answered), 'the thawed board to answer');
  });

  it('a board whose connection is cut mid-call gets the call once after resuming; the station gets one answer', async () => {
    const quito = boards[2]!;
    const answeredBefore = quito.lines.filter((l) => l.startsWith('-- board.describe answered')).length;
    // Freeze it so the call cannot be answered before the cut, then cut its connections and thaw it.
    quito.child.kill('SIGSTOP');
    const pending = describeBoards();
    await new Promise((r) => setTimeout(r, 200));
    proxy.cut();
    quito.child.kill('SIGCONT');
    const list = await pending;
    const entry = list.find((e) => (e as { city?: string }).city === 'Quito');
    expect(entry, JSON.stringify(list)).toMatchObject({ city: 'Quito', received: 0 });
    await new Promise((r) => setTimeout(r, 500));
    const answeredAfter = quito.lines.filter((l) => l.startsWith('-- board.describe answered')).length;
    expect(answeredAfter - answeredBefore).toBe(1);
    // Its calls stream comes back too (the SSE retry delay): answered again, once per call.
    await untilBoards((l) => l.length === 3 && l.every(answered), 'the resumed board to answer');
  });

  it('refuses a forged reply with 403', async () => {
    const forged = mutationBody({
      session: 'a'.repeat(32),
      callId: `${'0'.repeat(16)}.${'1'.repeat(24)}.${'2'.repeat(32)}`,
      result: { ok: true, output: { city: null, received: 0, startedAt: new Date() } },
    });
    const res = await rawRequest(`${station.url}/rpc/reverse.reply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: forged,
    });
    expect(res.status).toBe(403);
  });

  it('a board killed mid-call gives CLIENT_GONE', async () => {
    const doomed = boards[0]!;
    doomed.child.kill('SIGSTOP');
    const pending = describeBoards();
    await new Promise((r) => setTimeout(r, 300));
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const list = await pending;
    expect(list, JSON.stringify(list)).toHaveLength(3);
    expect(list.filter(answered)).toHaveLength(2);
    expect(errorOf(list.find((e) => !answered(e)))).toMatch(/^CLIENT_GONE/);
    // Gone for good, it is no longer listed.
    await untilBoards((l) => l.length === 2 && l.every(answered), 'the killed board to drop off the list');
  });
});
