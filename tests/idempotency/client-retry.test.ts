import { createServer } from 'node:http';
import { createCorbelClient } from '@corbel/client';
import { type FaultProxy, openSse, queryInput, startFaultProxy } from '@corbel/testing';
import superjson from 'superjson';
import { afterEach, describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { type Station, startStation } from '../../apps/weather/src/station-server.js';

/** Collects every reading's city on `url` (live), until closed. */
async function watchReadings(url: string) {
  const sse = await openSse(`${url}/rpc/weather.readings?${queryInput({})}`);
  expect(sse.status).toBe(200);
  const cities: string[] = [];
  let closed = false;
  const reading = (async () => {
    while (!closed) {
      const frame = await sse.next(10_000).catch(() => null);
      if (!frame) return;
      if (frame.event === 'message' && frame.id)
        cities.push((superjson.parse(frame.data) as { city: string }).city);
    }
  })();
  return {
    cities,
    /** Reports a sentinel and waits for it: every earlier reading has arrived by then. */
    async settle(client: ReturnType<typeof createCorbelClient<WeatherRouter>>) {
      const city = `sentinel-${Math.random()}`;
      await client.weather.report.mutate({ city, celsius: 0 });
      const deadline = Date.now() + 10_000;
      while (!cities.includes(city) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(cities).toContain(city);
    },
    async close() {
      closed = true;
      sse.close();
      await reading;
    },
  };
}

describe('keyed mutations are retried after a reset, a stall or a 503, and run once', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const station = async (): Promise<Station> => {
    const s = await startStation();
    cleanup.push(() => s.close());
    return s;
  };
  const proxy = async (port: number, faults: string[]): Promise<FaultProxy> => {
    const p = await startFaultProxy({
      target: { port },
      plan: (n) => ({ kind: (faults[n] ?? 'pass') as 'pass' }),
    });
    cleanup.push(() => p.close());
    return p;
  };
  const watch = async (url: string) => {
    const w = await watchReadings(url);
    cleanup.push(() => w.close());
    return w;
  };

  it('a reset after the station ran the report: the retry gets the same id, one reading', async () => {
    const live = await station();
    const p = await proxy(live.port, ['reset-after']);
    const seen = await watch(live.url);
    const client = createCorbelClient<WeatherRouter>({ url: p.url });
    const { id } = await client.weather.report.mutate({ city: 'Oslo', celsius: -3 });
    expect(id).toBeTruthy();
    expect(p.applied['reset-after']).toBe(1);
    await seen.settle(client);
    expect(seen.cities.filter((c) => c === 'Oslo')).toHaveLength(1);
    expect(await client.weather.latest.query({ city: 'Oslo' })).toMatchObject({ celsius: -3 });
  });

  it('a stalled answer: the attempt times out, the retry gets the same id, one reading', async () => {
    const live = await station();
    const p = await proxy(live.port, ['stall']);
    const seen = await watch(live.url);
    const client = createCorbelClient<WeatherRouter>({
      url: p.url,
      mutationRetry: { attemptTimeoutMs: 500 },
    });
    await client.weather.report.mutate({ city: 'Bergen', celsius: 1 });
    expect(p.applied.stall).toBe(1);
    await seen.settle(client);
    expect(seen.cities.filter((c) => c === 'Bergen')).toHaveLength(1);
  });

  it('a reset on one instance: the retry goes to the next instance, one reading', async () => {
    // One station with an in-memory store behind two "instances": a reset on
    // the first, a clean path on the second (they share the station's records).
    const live = await station();
    const first = await proxy(live.port, ['reset-after', 'reset-after', 'reset-after']);
    const second = await proxy(live.port, []);
    const seen = await watch(live.url);
    const client = createCorbelClient<WeatherRouter>({ url: [first.url, second.url] });
    await client.weather.report.mutate({ city: 'Tromsø', celsius: 2 });
    expect(first.applied['reset-after']).toBe(1);
    await seen.settle(client);
    expect(seen.cities.filter((c) => c === 'Tromsø')).toHaveLength(1);
  });

  it('a 503 from an instance: the retry goes to the next instance, one reading', async () => {
    const live = await station();
    let refused = 0;
    const unavailable = createServer((req, res) => {
      refused++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{}');
    });
    await new Promise<void>((r) => unavailable.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => unavailable.close(r)));
    const seen = await watch(live.url);
    const { port } = unavailable.address() as { port: number };
    const client = createCorbelClient<WeatherRouter>({ url: [`http://127.0.0.1:${port}`, live.url] });
    await client.weather.report.mutate({ city: 'Narvik', celsius: 5 });
    expect(refused).toBe(1);
    await seen.settle(client);
    expect(seen.cities.filter((c) => c === 'Narvik')).toHaveLength(1);
  });

  it('every attempt fails: the call rejects after the bounded number of attempts', async () => {
    const live = await station();
    const p = await proxy(live.port, Array(10).fill('reset-before'));
    const client = createCorbelClient<WeatherRouter>({ url: p.url, mutationRetry: { attempts: 3 } });
    await expect(client.weather.report.mutate({ city: 'Nowhere', celsius: 0 })).rejects.toThrow();
    expect(p.connections).toBe(3);
  });

  it('one key per logical call: two calls with the same input are two readings', async () => {
    const live = await station();
    const seen = await watch(live.url);
    const client = createCorbelClient<WeatherRouter>({ url: live.url });
    const a = await client.weather.report.mutate({ city: 'Bodø', celsius: 3 });
    const b = await client.weather.report.mutate({ city: 'Bodø', celsius: 3 });
    expect(a.id).not.toBe(b.id);
    // A caller's own key is honoured: a repeat (e.g. after the caller restarted) gets the first id.
    const c = await client.weather.report.mutate(
      { city: 'Bodø', celsius: 3 },
      { context: { idempotencyKey: 'saved-key-1' } },
    );
    const d = await client.weather.report.mutate(
      { city: 'Bodø', celsius: 3 },
      { context: { idempotencyKey: 'saved-key-1' } },
    );
    expect(d.id).toBe(c.id);
    await seen.settle(client);
    expect(seen.cities.filter((x) => x === 'Bodø')).toHaveLength(3);
  });
});
