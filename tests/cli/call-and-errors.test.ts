import { initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationProcess, startStationProcess } from '../../apps/weather/test/station-process.js';
import { closedPort, runCorbel } from './run-corbel.js';

const TOKEN = 'cli-secret';
let station: StationProcess;
const env = { CORBEL_TOKEN: TOKEN };

beforeAll(async () => {
  station = await startStationProcess(['--token', TOKEN, '--store', 'memory']);
});
afterAll(async () => {
  await station?.[Symbol.asyncDispose]();
});

/** One line on stderr, no stack trace. */
function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('corbel call', () => {
  it('runs a mutation and a query, printing plain JSON when piped, Dates as ISO strings', async () => {
    const reported = await runCorbel(
      ['call', station.url, 'weather.report', '{"city":"Oslo","celsius":-3}'],
      { env },
    );
    expect(reported.code, reported.stderr).toBe(0);
    const { id } = JSON.parse(reported.stdout);
    expect(id).toMatch(/^[0-9a-f]{8}-\d+$/);

    const latest = await runCorbel(['call', station.url, 'weather.latest', '{"city":"Oslo"}', '--json'], {
      env,
    });
    expect(latest.code, latest.stderr).toBe(0);
    const reading = JSON.parse(latest.stdout);
    expect(reading).toMatchObject({ city: 'Oslo', celsius: -3 });
    expect(new Date(reading.at).toISOString()).toBe(reading.at);
  });

  it('takes --token instead of CORBEL_TOKEN, and --query/--mutation to skip finding out', async () => {
    const res = await runCorbel([
      'call',
      station.url,
      'weather.latest',
      '{"city":"Nowhere"}',
      '--query',
      '--token',
      TOKEN,
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toBeNull();
  });
});

describe('corbel error classes: one line, a distinct exit status, no stack trace', () => {
  it('2: usage errors', async () => {
    const res = await runCorbel(['call', 'not-a-url', 'weather.latest']);
    expect(res.code).toBe(2);
    expectOneLine(res.stderr, /^corbel: usage: "not-a-url" is not a URL/);
    const missing = await runCorbel(['call']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'url'");
  });

  it('3: unreachable server', async () => {
    const res = await runCorbel(['call', `http://127.0.0.1:${await closedPort()}`, 'weather.latest', '{}']);
    expect(res.code).toBe(3);
    expectOneLine(
      res.stderr,
      /^corbel: unreachable: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
    );
  });

  it('4: no token, or a wrong one (401)', async () => {
    const none = await runCorbel(['call', station.url, 'weather.latest', '{"city":"Oslo"}']);
    expect(none.code).toBe(4);
    expectOneLine(none.stderr, /^corbel: not authenticated: .*--token/);
    const wrong = await runCorbel([
      'call',
      station.url,
      'weather.latest',
      '{"city":"Oslo"}',
      '--token',
      'nope',
    ]);
    expect(wrong.code).toBe(4);
  });

  it('5: unknown procedure, with the closest known names', async () => {
    const res = await runCorbel(['call', station.url, 'weather.lates', '{"city":"Oslo"}'], { env });
    expect(res.code).toBe(5);
    expectOneLine(
      res.stderr,
      /^corbel: unknown procedure: no procedure "weather.lates" — did you mean weather\.latest/,
    );
  });

  it('6: bad JSON input, with its position', async () => {
    const res = await runCorbel(['call', station.url, 'weather.report', '{"city":"Oslo",celsius:5}'], {
      env,
    });
    expect(res.code).toBe(6);
    expectOneLine(
      res.stderr,
      /^corbel: bad JSON: the input argument is not valid JSON at line 1, column 16: /,
    );
  });

  it('7: validation errors, with the field path', async () => {
    const res = await runCorbel(['call', station.url, 'weather.report', '{"city":"Oslo","celsius":500}'], {
      env,
    });
    expect(res.code).toBe(7);
    expectOneLine(res.stderr, /^corbel: invalid input: celsius: /);
  });

  it('9: history gone for a --since id the station never had', async () => {
    const res = await runCorbel(['listen', station.url, 'weather.readings', '--since', '00000000-1', '-q'], {
      env,
    });
    expect(res.code).toBe(9);
    expectOneLine(res.stderr, /^corbel: history gone: .* run again without --since/);
  });

  it('a channel used with call, or a command with listen, is a usage error naming the right subcommand', async () => {
    const call = await runCorbel(['call', station.url, 'weather.readings', '{}'], { env });
    expect(call.code).toBe(2);
    expectOneLine(call.stderr, /use corbel listen/);
    const listen = await runCorbel(['listen', station.url, 'weather.latest', '{"city":"Oslo"}', '-q'], {
      env,
    });
    expect(listen.code).toBe(2);
    expectOneLine(listen.stderr, /is a query, not an event channel: use corbel call/);
  });

  it('--debug adds the stack trace', async () => {
    const res = await runCorbel(['call', 'not-a-url', 'x', '--debug']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^\s+at /m);
  });
});

describe('corbel sessions', () => {
  it('lists live sessions in a table, or as JSON', async () => {
    const opened = await runCorbel(['call', station.url, 'session.open', '{}'], { env });
    expect(opened.code, opened.stderr).toBe(0);
    const table = await runCorbel(['sessions', station.url], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^SESSION\s+OWNER\s+SINCE\s+LAST SEEN\s+EXPIRES IN\s+STREAMS$/m);
    expect(table.stdout).toMatch(/\d+ live sessions?$/m);
    const json = await runCorbel(['sessions', station.url, '--json'], { env });
    const rows = JSON.parse(json.stdout);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toHaveProperty('owner');
  });

  it('says clearly when the server has no sessions procedure', async () => {
    await using plain = await startPlainServer();
    const res = await runCorbel(['sessions', plain.url]);
    expect(res.code).toBe(5);
    expectOneLine(res.stderr, /has no sessions procedure "session.list"/);
    // Without corbel.contract, call finds the kind by probing.
    const ping = await runCorbel(['call', plain.url, 'ping']);
    expect(ping.code, ping.stderr).toBe(0);
    expect(JSON.parse(ping.stdout)).toBe('pong');
  });
});

/** A Corbel server without sessions. */
async function startPlainServer() {
  const t = initCorbel();
  const server = createCorbelServer({ router: t.router({ ping: t.procedure.query(() => 'pong') }) });
  await server.listen({ port: 0 });
  return server;
}
