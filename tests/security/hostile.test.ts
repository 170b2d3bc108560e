/**
 * The hostile-input suite: everything a broken, slow or malicious client can
 * throw at a Corbel server, over real sockets, against the weather contract on
 * the durable SQLite log. Afterwards the server must answer normally, its
 * memory must be back near where it started and the stored events must be
 * byte-for-byte what they were.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCorbelClient } from '@corbel/client';
import { openSse } from '@corbel/testing';
import fc from 'fast-check';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { type StationProcess, startStationProcess } from '../../apps/weather/test/station-process.js';
import type { HostileOp } from './hostile-server.js';
import { pool, sendRaw } from './raw-http.js';
import {
  bombWithHealth,
  collectionBomb,
  corbelCodeOf,
  openUnfinishedBodies,
  reportBody,
  tally as tallyStatuses,
  timedRequest,
  typedArrayBomb,
} from './round-two-attacks.js';

const SEED = Number(process.env.HOSTILE_SEED ?? 20261122);
const RANDOM_REQUESTS = Number(process.env.HOSTILE_REQUESTS ?? 2000);
const SEEDED_EVENTS = 300;

const phase: Record<string, number> = {};
let phaseStart = performance.now();
const mark = (name: string) => {
  const now = performance.now();
  phase[name] = Math.round(now - phaseStart);
  phaseStart = now;
};

let dir: string;
let child: ChildProcess;
let url: string;
let storedBefore: string[];
let memoryBefore: NodeJS.MemoryUsage;
let closes: string[] = [];
const tally = { tried: 0, byStatus: new Map<number, number>() };
const count = (status: number) => {
  tally.tried++;
  tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
};
/** Requests that got a 5xx, to show which input did it. */
const serverErrors: string[] = [];

/** Asks the server process (see hostile-server.ts). */
let nextId = 0;
function ask<T>(msg: HostileOp): Promise<T> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const onMessage = (reply: any) => {
      if (reply?.id !== id) return;
      child.off('message', onMessage);
      if ('error' in reply) reject(new Error(reply.error));
      else resolve(reply.result as T);
    };
    child.on('message', onMessage);
    child.send({ ...msg, id });
  });
}
type ServerState = { subscribers: number; streams: number; connections: number; closes: string[] };
const state = () => ask<ServerState>({ op: 'state' });
const readAll = () => ask<string[]>({ op: 'read' });

const q = (input: unknown) => `input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
const head = (method: string, target: string, headers: string[] = [], body = '') =>
  `${method} ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}${
    body || method === 'POST' ? `content-length: ${Buffer.byteLength(body, 'latin1')}\r\n` : ''
  }\r\n${body}`;

async function expectStatus(label: string, request: Buffer | string, expected: number | number[]) {
  const { status, text } = await sendRaw(url, request);
  count(status);
  const ok = Array.isArray(expected) ? expected.includes(status) : status === expected;
  if (!ok) throw new Error(`${label}: expected ${expected}, got ${status}: ${text.slice(0, 300)}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corbel-hostile-'));
  child = fork(new URL('./hostile-server.ts', import.meta.url).pathname, [], {
    execArgv: ['--conditions=@corbel/source', '--import', 'tsx'],
    env: { ...process.env, HOSTILE_DATA_DIR: dir, HOSTILE_SEEDED: String(SEEDED_EVENTS) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  ({ url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (m: any) => resolve(m));
    child.once('exit', (code) => reject(new Error(`the hostile server exited (${code}) before listening`)));
  }));
  storedBefore = await readAll();
  memoryBefore = await ask<NodeJS.MemoryUsage>({ op: 'memory' });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    closes = (await state()).closes;
    const exited = new Promise((r) => child.once('exit', r));
    await ask({ op: 'close' });
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
  const statuses = [...tally.byStatus.entries()].sort((a, b) => a[0] - b[0]);
  console.log(
    `hostile suite: ${tally.tried} requests tried; by status: ${statuses.map(([s, n]) => `${s || 'closed'}=${n}`).join(' ')}; ` +
      `stream ends: ${JSON.stringify(tallyOf(closes))}; seed ${SEED}; ms per phase: ${JSON.stringify(phase)}`,
  );
});

function tallyOf(items: string[]) {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

describe('hostile input', () => {
  it('answers malformed, truncated, mistyped, deep and invalid-UTF-8 input with a 4xx', async () => {
    const report = '/rpc/weather.report';
    const json = 'content-type: application/json';
    const cases: [string, string | Buffer, number | number[]][] = [
      ['truncated body', head('POST', report, [json], '{"json":{"city":"Oslo","cel'), 400],
      ['not JSON', head('POST', report, [json], 'city=Oslo'), 400],
      ['empty object', head('POST', report, [json], '{}'), 400],
      ['wrong types', head('POST', report, [json], '{"json":{"city":42,"celsius":"hot"}}'), 400],
      ['out of range', head('POST', report, [json], '{"json":{"city":"Oslo","celsius":1e308}}'), 400],
      ['null', head('POST', report, [json], 'null'), 400],
      ['array', head('POST', report, [json], '[1,2,3]'), 400],
      ['deep array', head('POST', report, [json], `${'['.repeat(200_000)}${']'.repeat(200_000)}`), 400],
      [
        'deep object',
        head('POST', report, [json], `{"json":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`),
        400,
      ],
      [
        'superjson meta bomb',
        head(
          'POST',
          report,
          [json],
          JSON.stringify({ json: { city: 'x' }, meta: { values: { city: ['nope'] } } }),
        ),
        400,
      ],
      [
        'superjson prototype pollution',
        head('POST', report, [json], '{"json":{"__proto__":{"polluted":1},"city":"x","celsius":1}}'),
        [200, 400],
      ],
      [
        'huge string',
        head('POST', report, [json], JSON.stringify({ json: { city: 'x'.repeat(900_000), celsius: 1 } })),
        400,
      ],
      ['huge array', head('POST', report, [json], JSON.stringify({ json: new Array(200_000).fill(1) })), 400],
      ['over the body limit', head('POST', report, [json], 'x'.repeat(1024 * 1024 + 10)), 413],
      [
        'invalid UTF-8 body',
        Buffer.concat([
          Buffer.from(
            head('POST', report, [json, 'content-length: 16']).replace(/content-length: 0\r\n/, ''),
          ),
          Buffer.from([
            0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
          ]),
        ]),
        400,
      ],
      ['invalid UTF-8 in URL', head('GET', `/rpc/weather.latest?input=%FF%FE%C3%28`), 400],
      ['bad percent in path', head('GET', '/rpc/weather.%E0%A4%A'), 400],
      [
        'wrong content type',
        head('POST', report, ['content-type: text/plain'], '{"json":{"city":"x","celsius":1}}'),
        415,
      ],
      ['unknown procedure', head('GET', '/rpc/weather.nope'), 404],
      ['prototype path', head('GET', '/rpc/__proto__'), 404],
      ['constructor path', head('GET', '/rpc/constructor.prototype'), 404],
      ['outside the base path', head('GET', '/rpcx/weather.latest'), 404],
      ['traversal', head('GET', '/rpc/../../etc/passwd'), 404],
      ['query on mutation', head('GET', report), 405],
      ['PUT', head('PUT', report, [json], '{}'), 405],
      ['DELETE', head('DELETE', '/rpc/weather.latest'), 405],
      ['made-up method', head('BREW', '/rpc/weather.latest'), [400, 405]],
      ['POST to subscription', head('POST', '/rpc/weather.readings', [json], '{}'), 405],
      ['batched subscription', head('GET', '/rpc/weather.readings,weather.readings?batch=1'), 400],
      ['mixed batch', head('GET', '/rpc/weather.latest,weather.report?batch=1'), 400],
      [
        'batch of 10 000',
        head('GET', `/rpc/${Array(10_000).fill('weather.latest').join(',')}?batch=1`),
        [400, 414, 431],
      ],
      ['batch input not an object', head('GET', `/rpc/weather.latest,weather.latest?batch=1&input=[1]`), 400],
      ['URL over the limit', head('GET', `/rpc/weather.latest?input=${'a'.repeat(9000)}`), 414],
      ['head over the limit', head('GET', '/rpc/weather.latest', [`x-big: ${'a'.repeat(20_000)}`]), 431],
      [
        'too many headers',
        head(
          'GET',
          '/rpc/weather.latest',
          Array.from({ length: 150 }, (_, i) => `x-h${i}: 1`),
        ),
        431,
      ],
      ['bad header line', 'GET /rpc/weather.latest HTTP/1.1\r\nhost x\r\n\r\n', 400],
      ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n', 400],
      [
        'bad chunked body',
        'POST /rpc/weather.report HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
        400,
      ],
      [
        'smuggling: both lengths',
        'POST /rpc/weather.report HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'garbage Last-Event-ID',
        head('GET', `/rpc/weather.readings?${q({})}`, ['last-event-id: ../../\x01garbage']),
        400,
      ],
      [
        'enormous Last-Event-ID',
        head('GET', `/rpc/weather.readings?${q({})}`, [`last-event-id: ${'9'.repeat(12_000)}`]),
        400,
      ],
      [
        'foreign Last-Event-ID',
        head('GET', `/rpc/weather.readings?${q({ lastEventId: 'ffffffff-99999999' })}`),
        [400, 412],
      ],
      ['NaN id', head('GET', `/rpc/weather.readings?${q({ lastEventId: '00000000-NaN' })}`), 400],
    ];
    for (const [label, request, expected] of cases) await expectStatus(label, request, expected);
    // Nothing was stored by any of it, except possibly the one valid-looking report.
    expect((await readAll()).length).toBeLessThanOrEqual(SEEDED_EVENTS + 1);
  });

  it(`survives ${RANDOM_REQUESTS} randomized requests from fast-check without a 5xx`, async () => {
    const printable = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    });
    const procedure = fc.oneof(
      fc.constantFrom(
        'weather.report',
        'weather.latest',
        'weather.readings',
        'weather',
        '',
        'weather.latest,weather.latest',
      ),
      printable,
    );
    const inputValue = fc.oneof(
      fc.record(
        { city: fc.string({ maxLength: 120 }), celsius: fc.oneof(fc.double(), fc.integer()) },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 4 }),
      fc.record(
        { city: fc.string(), lastEventId: fc.oneof(fc.string(), fc.constant('00000000-1')) },
        { requiredKeys: [] },
      ),
    );
    const query = fc.oneof(
      fc.constant(''),
      inputValue.map((v) => `?input=${encodeURIComponent(JSON.stringify({ json: v }))}`),
      inputValue.map((v) => `?input=${encodeURIComponent(JSON.stringify(v)).slice(0, 30)}`),
      printable.map((s) => `?input=${s}`),
      fc.constantFrom('?batch=1', '?batch=1&input={}', '?input=%', '?input=%7B%22json%22'),
    );
    const body = fc.oneof(
      fc.constant(''),
      inputValue.map((v) => JSON.stringify({ json: v })),
      inputValue.map((v) => JSON.stringify({ json: v }).slice(0, 17)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.integer({ min: 1, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    );
    const headerLine = fc.oneof(
      fc.constantFrom(
        'content-type: application/json',
        'content-type: text/plain',
        'content-type: application/json; charset=utf-8',
      ),
      printable.map((s) => `last-event-id: ${s}`),
      printable.map((s) => `authorization: Bearer ${s}`),
      printable.map((s) => `x-request-id: ${s}`),
      fc.tuple(printable, printable).map(([k, v]) => `x${k.replace(/[^a-z0-9-]/gi, '')}: ${v}`),
    );
    const request = fc.record({
      method: fc.constantFrom(
        'GET',
        'GET',
        'GET',
        'POST',
        'POST',
        'HEAD',
        'PUT',
        'DELETE',
        'OPTIONS',
        'PATCH',
      ),
      procedure,
      query,
      headers: fc.array(headerLine, { maxLength: 6 }),
      body,
    });
    phaseStart = performance.now();
    const samples = fc.sample(request, { numRuns: RANDOM_REQUESTS, seed: SEED });
    mark('generate');
    await pool(samples, 16, async (r) => {
      const path = `/rpc/${encodeURI(r.procedure).replace(/#/g, '%23').replace(/\?/g, '%3F')}${r.query.replace(/ /g, '%20')}`;
      const isStream = r.method === 'GET' && r.procedure === 'weather.readings';
      const raw = head(r.method, path, r.headers, r.method === 'GET' || r.method === 'HEAD' ? '' : r.body);
      // An accepted stream stays open: read its head, then hang up.
      const { status, text } = await sendRaw(url, Buffer.from(raw, 'latin1'), isStream ? 300 : 5000);
      count(status);
      if (status >= 500) serverErrors.push(`${status} for ${raw.slice(0, 300)} -> ${text.slice(0, 300)}`);
    });
    mark('random');
    expect(serverErrors).toEqual([]);
  });

  it('shrugs off thousands of connections opened and dropped, half-open sockets and slowloris heads', async () => {
    const { hostname, port } = new URL(url);
    const target = `GET /rpc/weather.latest?${q({ city: 'Oslo' })} HTTP/1.1\r\nhost: x\r\n\r\n`;
    // 2000 connections: some drop at once, some mid-head, some mid-body.
    phaseStart = performance.now();
    await pool(
      Array.from({ length: 2000 }, (_, i) => i),
      64,
      (i) =>
        new Promise<void>((resolve) => {
          const s = connect(Number(port), hostname, () => {
            if (i % 3 === 1) s.write(target.slice(0, 25));
            if (i % 3 === 2)
              s.write('POST /rpc/weather.report HTTP/1.1\r\nhost: x\r\ncontent-length: 50\r\n\r\n{"js');
            setImmediate(() => s.destroy());
          });
          s.on('error', () => {});
          s.on('close', () => resolve());
        }),
    );
    tally.tried += 2000;
    mark('open-and-drop');

    // Half-open: the client sends part of a head and shuts its side; and slowloris heads.
    const lingering: Socket[] = [];
    const got: string[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const s = connect(Number(port), hostname);
      s.on('error', () => {});
      s.on('data', (d) => {
        got[i] = (got[i] ?? '') + String(d);
      });
      closed.push(new Promise((r) => s.on('close', () => r())));
      if (i % 2 === 0) {
        s.write(target.slice(0, 30));
        s.end();
      } else {
        s.write('GET /rpc/weather.latest HTTP/1.1\r\n');
        const drip = setInterval(() => s.writable && s.write(`x-${Date.now()}: 1\r\n`), 200);
        s.on('close', () => clearInterval(drip));
      }
      lingering.push(s);
    }
    let stillOpen: string[] = [];
    const deadline = setTimeout(() => {
      // What the server left open, and what it had answered on it.
      stillOpen = lingering.flatMap((s, i) =>
        s.destroyed
          ? []
          : [`${i % 2 ? 'slowloris' : 'half-open'} #${i}: ${JSON.stringify(got[i]?.slice(0, 60) ?? '')}`],
      );
      for (const s of lingering) s.destroy();
    }, 15_000);
    await Promise.all(closed);
    clearTimeout(deadline);
    mark('half-open-and-slowloris');
    tally.tried += 40;
    // The server closed them (headersTimeout), the test did not have to.
    expect(stillOpen).toEqual([]);
    const connections = async () => (await state()).connections;
    for (let i = 0; i < 100 && (await connections()) > 2; i++) await new Promise((r) => setTimeout(r, 30));
    expect(await connections()).toBeLessThanOrEqual(2);
  });

  it('cuts off a subscriber that never reads; its queue stays bounded', async () => {
    const { hostname, port } = new URL(url);
    const before = (await state()).closes.length;
    const s = connect(Number(port), hostname);
    s.on('error', () => {});
    s.write(`GET /rpc/weather.readings?${q({})} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n`);
    // Read nothing, ever.
    s.pause();
    for (let i = 0; i < 200 && (await state()).subscribers === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await state()).subscribers).toBe(1);
    const city = 'S'.repeat(100);
    for (let i = 0; i < 40 && (await state()).closes.length === before; i++) {
      await Promise.all([ask({ op: 'publish', count: 500, city })]);
    }
    for (let i = 0; i < 300 && (await state()).closes.length === before; i++)
      await new Promise((r) => setTimeout(r, 10));
    s.destroy();
    const after = await state();
    expect(after.closes.slice(before)).toEqual([expect.stringMatching(/SLOW_CONSUMER|stalled/)]);
    expect(after.subscribers).toBe(0);
    tally.tried += 1;
  });

  it('is healthy afterwards: answers normally, memory back near the start, stored events byte-for-byte intact', async () => {
    // Every stream the suite opened is gone.
    for (let i = 0; i < 200 && (await state()).streams > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await state()).streams).toBe(0);
    const client = createCorbelClient<WeatherRouter>({ url });
    const { id } = await client.weather.report.mutate({ city: 'After', celsius: 12.5 });
    expect(await client.weather.latest.query({ city: 'After' })).toMatchObject({
      city: 'After',
      celsius: 12.5,
    });
    await using sse = await openSse(`${url}/rpc/weather.readings?${q({ city: 'After' })}`, {
      'last-event-id': storedBefore.length ? JSON.parse(storedBefore.at(-1)!).json.id : id,
    });
    expect(sse.status).toBe(200);
    const frames = await sse.collect(1, 5000);
    expect(frames.some((f) => f.id === id)).toBe(true);

    const storedAfter = await readAll();
    expect(storedAfter.slice(0, SEEDED_EVENTS)).toEqual(storedBefore);

    const memoryAfter = await ask<NodeJS.MemoryUsage>({ op: 'memory' });
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    console.log(
      `hostile suite server RSS: before ${mb(memoryBefore.rss)}, after ${mb(memoryAfter.rss)}; ` +
        `JS heap used: before ${mb(memoryBefore.heapUsed)}, after ${mb(memoryAfter.heapUsed)}`,
    );
    // The server's own process, after a full GC. V8 and malloc keep some freed
    // pages for reuse, so RSS gets a margin; the JS heap is what is live.
    expect(memoryAfter.rss).toBeLessThan(memoryBefore.rss + 100e6);
    expect(memoryAfter.heapUsed).toBeLessThan(memoryBefore.heapUsed + 20e6);
  });
});

/**
 * The second hostile run (issue 15), against a real station process with a
 * token, as an attacker would meet it. Every case prints its figures.
 */
describe('hostile run two: a station with --token', () => {
  const TOKEN = 'hostile-two-secret';
  const auth = { authorization: `Bearer ${TOKEN}` };
  const figures: Record<string, unknown> = {};
  let station: StationProcess;

  // The suite's requests all come from 127.0.0.1, which it names as the
  // station's proxy: each case speaks for its own client through
  // X-Forwarded-For, as users behind a reverse proxy would.
  const startStation = (dataDir?: string) =>
    startStationProcess(['--token', TOKEN, '--trust-proxy', '127.0.0.1'], {
      dataDir,
      env: { CORBEL_LOG_LEVEL: 'info' },
    });
  const client = (n: number) => ({ 'x-forwarded-for': `203.0.113.${n}` });

  beforeAll(async () => {
    station = await startStation();
  });
  afterAll(async () => {
    await station?.[Symbol.asyncDispose]();
    // A restarted station was given its data directory, so it leaves it behind.
    if (station) rmSync(station.dataDir, { recursive: true, force: true });
    console.log(`hostile run two figures: ${JSON.stringify(figures)}`);
  });

  it('decodes a Map or Set annotation bomb under 1 MiB into a fast 400 while /healthz keeps answering', async () => {
    const headers = { ...auth, ...client(1) };
    // One bomb first, unmeasured: a fresh station's first 1 MiB body pays for
    // JIT warm-up, not for the decode.
    await bombWithHealth(station.url, collectionBomb('map', 60_000, 18_000), headers);
    for (const kind of ['map', 'set'] as const) {
      // The health probe runs in this (busy, shared) test process, so one
      // scheduling hiccup can look like a stall: the best of three attempts
      // must be under 100 ms. The unbounded decode stalled 6–15 s every time.
      const stalls: number[] = [];
      for (let attempt = 0; attempt < 3 && !stalls.some((ms) => ms < 100); attempt++) {
        const bomb = await bombWithHealth(station.url, collectionBomb(kind, 60_000, 18_000), headers);
        figures[`${kind} bomb`] = {
          status: bomb.status,
          ms: bomb.ms,
          healthStallMs: bomb.healthStallMs,
          bytes: bomb.bytes,
        };
        expect(bomb.bytes).toBeLessThan(1024 * 1024);
        expect(bomb.status).toBe(400);
        expect(corbelCodeOf(bomb.text)).toBe('INPUT_TOO_COMPLEX');
        expect(bomb.ms).toBeLessThan(1000);
        stalls.push(bomb.healthStallMs);
      }
      figures[`${kind} bomb health stalls`] = stalls;
      expect(Math.min(...stalls)).toBeLessThan(100);
    }
    const typed = await bombWithHealth(station.url, typedArrayBomb(), { ...auth, ...client(1) });
    figures['typed-array 2^31'] = { status: typed.status, ms: typed.ms };
    expect(typed.status).toBe(400);
    expect(corbelCodeOf(typed.text)).toBe('INPUT_TOO_COMPLEX');
    // The station is still itself.
    const ok = await timedRequest(`${station.url}/rpc/weather.report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: reportBody('After', 3),
    });
    expect(ok.status).toBe(200);
  });

  it('names the client behind a trusted proxy in every request log line, and lets only trusted peers say so', async () => {
    const mark = `proxy-${Date.now()}`;
    await timedRequest(`${station.url}/rpc/weather.nope`, {
      headers: { ...auth, 'x-forwarded-for': `198.51.100.9, 203.0.113.77`, 'x-request-id': mark },
    });
    const line = await station.waitForLine(new RegExp(mark));
    figures['log line behind the proxy'] = JSON.parse(line).remote;
    // The right-most hop that is not a trusted proxy: what the proxy itself saw.
    expect(JSON.parse(line).remote).toBe('203.0.113.77');
    const lines = station.lines.filter((l) => l.startsWith('{') && l.includes('"reqId"'));
    figures['request log lines with remote'] =
      `${lines.filter((l) => l.includes('"remote":')).length}/${lines.length}`;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.includes('"remote":'))).toBe(true);
  });

  it('throttles failed authentications per client (bearer and /session alike), never a success', async () => {
    const wrongBearer = await tallyStatuses(2000, 20, () =>
      timedRequest(`${station.url}/rpc/weather.latest`, {
        headers: { authorization: 'Bearer wrong', ...client(20) },
      }),
    );
    figures['2000 wrong bearer tokens'] = wrongBearer;
    expect(wrongBearer.byStatus[429]).toBeGreaterThan(1900);
    expect(wrongBearer.retryAfter).toBe(true);
    // The right token from the same client is never slowed.
    const right = await timedRequest(
      `${station.url}/rpc/weather.latest?input=${encodeURIComponent('{"json":{"city":"Oslo"}}')}`,
      { headers: { ...auth, ...client(20) } },
    );
    expect(right.status).toBe(200);
    // Another client behind the same proxy is not throttled for it.
    const other = await timedRequest(`${station.url}/rpc/weather.latest`, {
      headers: { authorization: 'Bearer wrong', ...client(21) },
    });
    expect(other.status).toBe(401);

    const wrongSession = await tallyStatuses(2000, 20, () =>
      timedRequest(`${station.url}/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...client(22) },
        body: '{"token":"wrong"}',
      }),
    );
    figures['2000 wrong /session tokens'] = wrongSession;
    expect(wrongSession.byStatus[429]).toBeGreaterThan(1900);
    expect(wrongSession.retryAfter).toBe(true);
    const login = await timedRequest(`${station.url}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...client(22) },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(login.status).toBe(200);
  });

  it('lists sessions only to the operator (the token holder), never to a page cookie', async () => {
    const cookie = await pageCookie(client(30));
    const byCookie = await timedRequest(`${station.url}/rpc/session.list`, {
      headers: { cookie, ...client(30) },
    });
    const byToken = await timedRequest(`${station.url}/rpc/session.list`, {
      headers: { ...auth, ...client(30) },
    });
    figures['session.list'] = { cookie: byCookie.status, token: byToken.status };
    expect(byCookie.status).toBe(403);
    expect(corbelCodeOf(byCookie.text)).toBe('FORBIDDEN');
    expect(byToken.status).toBe(200);
  });

  it('ends a page cookie server-side on DELETE /session: refused after, refresh refused, also after a restart', async () => {
    const latest = `${station.url}/rpc/weather.latest?input=${encodeURIComponent('{"json":{"city":"Oslo"}}')}`;
    const cookie = await pageCookie(client(40));
    expect((await timedRequest(latest, { headers: { cookie, ...client(40) } })).status).toBe(200);
    const del = await timedRequest(`${station.url}/session`, {
      method: 'DELETE',
      headers: { cookie, ...client(40) },
    });
    const after = await timedRequest(latest, { headers: { cookie, ...client(40) } });
    const refresh = await timedRequest(`${station.url}/session?refresh=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, ...client(40) },
      body: '{}',
    });
    expect(del.status).toBe(204);
    expect(after.status).toBe(401);
    expect(refresh.status).toBe(401);
    // The revocation is in the station's store: a restart on the same data keeps it.
    const { dataDir } = station;
    await station.stop();
    station = await startStation(dataDir);
    const afterRestart = await timedRequest(
      `${station.url}/rpc/weather.latest?input=${encodeURIComponent('{"json":{"city":"Oslo"}}')}`,
      {
        headers: { cookie, ...client(40) },
      },
    );
    figures['cookie after DELETE'] = {
      delete: del.status,
      command: after.status,
      refresh: refresh.status,
      afterRestart: afterRestart.status,
    };
    expect(afterRestart.status).toBe(401);
    // A fresh login still works.
    const fresh = await pageCookie(client(41));
    expect(
      (await timedRequest(`${station.url}/rpc/session.list`, { headers: { cookie: fresh } })).status,
    ).toBe(403);
  });

  it("does not 429 a client's commands while 256 of its bodies never finish", async () => {
    const sockets = await openUnfinishedBodies(station.url, 256, { ...auth, ...client(50) });
    try {
      const normal = await tallyStatuses(20, 4, () =>
        timedRequest(`${station.url}/rpc/weather.report`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth, ...client(50) },
          body: reportBody(),
        }),
      );
      figures['256 unfinished bodies'] = normal.byStatus;
      expect(normal.byStatus).toEqual({ 200: 20 });
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('answers OPTIONS with 405 as security.md says, token or not', async () => {
    const options = await timedRequest(`${station.url}/rpc/weather.report`, { method: 'OPTIONS' });
    figures.OPTIONS = options.status;
    expect(options.status).toBe(405);
    expect(options.headers.allow).toBe('GET, POST');
  });

  /** A page session cookie, as the page gets one. */
  async function pageCookie(headers: Record<string, string>): Promise<string> {
    const login = await timedRequest(`${station.url}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(login.status).toBe(200);
    return String(login.headers['set-cookie']).split(';', 1)[0]!;
  }
});
