import { request } from 'node:http';
import {
  errorShape,
  mutationBody,
  openSse,
  queryInput,
  rawRequest,
  resultData,
  type SseFrame,
} from '@corbel/testing';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationProcess, startStationProcess } from './station-process.js';

// The station driven from outside with raw HTTP and SSE, exactly as DESIGN.md
// specifies its public contract: no Corbel or tRPC client involved.
let station: StationProcess;
let rpc: string;

const report = (city: unknown, celsius: unknown) =>
  rawRequest(`${rpc}/weather.report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: mutationBody({ city, celsius }),
  });
const readingsUrl = (input: unknown = {}) => `${rpc}/weather.readings?${queryInput(input)}`;
const dataOf = (frames: SseFrame[]) =>
  frames.filter((f) => f.event === 'message').map((f) => ({ id: f.id, ...(superjson.parse(f.data) as any) }));

beforeAll(async () => {
  station = await startStationProcess();
  rpc = `${station.url}/rpc`;
});
afterAll(async () => {
  await station?.[Symbol.asyncDispose]();
});

describe('weather station over raw HTTP', () => {
  it('answers weather.report and weather.latest with superjson', async () => {
    const res = await report('Oslo', -3.5);
    expect(res.status).toBe(200);
    const { id } = resultData<{ id: string }>(res.json);
    expect(typeof id).toBe('string');
    const latest = await rawRequest(`${rpc}/weather.latest?${queryInput({ city: 'Oslo' })}`);
    expect(latest.status).toBe(200);
    const reading = resultData<{ city: string; celsius: number; at: Date }>(latest.json);
    expect(reading).toMatchObject({ city: 'Oslo', celsius: -3.5 });
    expect(reading.at).toBeInstanceOf(Date);
    const none = await rawRequest(`${rpc}/weather.latest?${queryInput({ city: 'Atlantis' })}`);
    expect(resultData(none.json)).toBeNull();
  });

  it('streams readings with ids, filters by city, and resumes exactly from Last-Event-ID or lastEventId', async () => {
    await using all = await openSse(readingsUrl());
    await using lima = await openSse(readingsUrl({ city: 'Lima' }));
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toBe('text/event-stream');
    const ids: string[] = [];
    for (const [city, celsius] of [
      ['Lima', 18],
      ['Kyiv', 2],
      ['Lima', 19],
      ['Kyiv', 1],
      ['Lima', 20],
    ] as const) {
      ids.push(resultData<{ id: string }>((await report(city, celsius)).json).id);
    }
    const got = dataOf(await all.collect(5));
    expect(got.map((r) => r.id)).toEqual(ids);
    expect(got.map((r) => r.city)).toEqual(['Lima', 'Kyiv', 'Lima', 'Kyiv', 'Lima']);
    const limaGot = dataOf(await lima.collect(3));
    expect(limaGot.map((r) => r.celsius)).toEqual([18, 19, 20]);

    // A client that saw only the first reading gets exactly the four it missed.
    await using byHeader = await openSse(readingsUrl(), { 'last-event-id': ids[0]! });
    expect(dataOf(await byHeader.collect(4)).map((r) => r.id)).toEqual(ids.slice(1));
    await using byInput = await openSse(readingsUrl({ lastEventId: ids[2] }));
    expect(dataOf(await byInput.collect(2)).map((r) => r.id)).toEqual(ids.slice(3));
    await using limaResume = await openSse(readingsUrl({ city: 'Lima', lastEventId: ids[0] }));
    expect(dataOf(await limaResume.collect(2)).map((r) => r.id)).toEqual([ids[2], ids[4]]);
    // …and nothing more until the next reading.
    const next = await byInput.next(300).catch(() => null);
    expect(next === null || next.event === 'ping').toBe(true);
  });

  it('answers bad input with 4xx and a clear message, and keeps working', async () => {
    const cases: {
      name: string;
      run: () => Promise<{ status: number; text: string }>;
      status: number;
      message: RegExp;
    }[] = [
      { name: 'celsius out of range', run: () => report('Oslo', 101), status: 400, message: /celsius/ },
      { name: 'empty city', run: () => report('', 3), status: 400, message: /city/ },
      { name: 'wrong type', run: () => report('Oslo', 'warm'), status: 400, message: /celsius/ },
      {
        name: 'malformed JSON',
        run: () =>
          rawRequest(`${rpc}/weather.report`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"json":{"city":',
          }),
        status: 400,
        message: /not valid JSON/,
      },
      {
        name: 'unknown procedure',
        run: () => rawRequest(`${rpc}/weather.forecast?${queryInput({})}`),
        status: 404,
        message: /No procedure found/,
      },
      {
        name: 'GET on a mutation',
        run: () => rawRequest(`${rpc}/weather.report?${queryInput({ city: 'Oslo', celsius: 1 })}`),
        status: 405,
        message: /Unsupported GET/,
      },
      {
        name: 'garbage Last-Event-ID',
        run: async () => {
          const sse = await openSse(readingsUrl(), { 'last-event-id': 'garbage\u00ff' });
          return { status: sse.status, text: sse.body ?? '' };
        },
        status: 400,
        message: /not an event id/,
      },
      {
        name: 'garbage lastEventId input',
        run: async () => {
          const sse = await openSse(readingsUrl({ lastEventId: '../../etc/passwd' }));
          return { status: sse.status, text: sse.body ?? '' };
        },
        status: 400,
        message: /not an event id/,
      },
      {
        name: '20 MB body',
        run: () => postHuge(`${rpc}/weather.report`, 20 * 1024 * 1024),
        status: 413,
        message: /exceeds/,
      },
    ];
    for (const c of cases) {
      const res = await c.run();
      expect({ name: c.name, status: res.status }).toEqual({ name: c.name, status: c.status });
      const shape = errorShape(JSON.parse(res.text));
      expect(shape.message, c.name).toMatch(c.message);
    }
    const ok = await report('Oslo', 4);
    expect(ok.status).toBe(200);
    const health = await rawRequest(`${station.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('delivers every reading in order to 200 concurrent subscribers', async () => {
    const subscribers = await Promise.all(
      Array.from({ length: 200 }, () => openSse(readingsUrl({ city: 'Quito' }))),
    );
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(resultData<{ id: string }>((await report('Quito', i)).json).id);
      const results = await Promise.all(subscribers.map((s) => s.collect(20, 20_000)));
      for (const frames of results) expect(dataOf(frames).map((r) => r.id)).toEqual(ids);
    } finally {
      for (const s of subscribers) s.close();
    }
  });
});

/** POSTs `size` bytes without waiting for the upload to finish, and returns the answer. */
function postHuge(url: string, size: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': size } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // The server answers 413 as soon as it sees the length and closes the
    // connection, so the upload itself may fail with EPIPE: the answer counts.
    req.on('error', (e) => setTimeout(() => reject(e), 2000).unref());
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}
