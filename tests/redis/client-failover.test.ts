import { createServer, type Server } from 'node:net';
import { createCorbelClient } from '@corbel/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { type Station, startStation } from '../../apps/weather/src/station-server.js';

/** A port that refuses connections (bound once, then closed). */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return `http://127.0.0.1:${port}`;
}

/** An "instance" that accepts each request and then drops the connection without answering. */
async function resettingUrl(): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((socket) => {
    socket.once('data', () => {
      requests++;
      socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, server };
}

describe('client failover across instances (url: [a, b])', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const station = async (): Promise<Station> => {
    const s = await startStation();
    cleanup.push(() => s.close());
    return s;
  };
  const resetting = async () => {
    const r = await resettingUrl();
    cleanup.push(() => new Promise((res) => r.server.close(res)));
    return r;
  };

  it('moves to the next instance when the first refuses connections: queries and mutations (never sent, so safe)', async () => {
    const live = await station();
    const client = createCorbelClient<WeatherRouter>({ url: [await deadUrl(), live.url] });
    const { id } = await client.weather.report.mutate({ city: 'Oslo', celsius: -3 });
    expect(id).toBeTruthy();
    expect(await client.weather.latest.query({ city: 'Oslo' })).toMatchObject({ city: 'Oslo', celsius: -3 });
  });

  it('without idempotency keys, never repeats a mutation that reached an instance unless it is marked idempotent', async () => {
    const live = await station();
    const broken = await resetting();
    const client = createCorbelClient<WeatherRouter>({ url: [broken.url, live.url], idempotencyKeys: false });
    await expect(client.weather.report.mutate({ city: 'Bergen', celsius: 1 })).rejects.toThrow();
    expect(broken.requests()).toBe(1);
    // The other instance never saw it.
    const probe = createCorbelClient<WeatherRouter>({ url: live.url });
    expect(await probe.weather.latest.query({ city: 'Bergen' })).toBeNull();
  });

  it('with keys (the default), retries a mutation that reached an instance on the next one', async () => {
    const live = await station();
    const broken = await resetting();
    const client = createCorbelClient<WeatherRouter>({ url: [broken.url, live.url] });
    await client.weather.report.mutate({ city: 'Alta', celsius: 4 });
    expect(broken.requests()).toBe(1);
    expect(await client.weather.latest.query({ city: 'Alta' })).toMatchObject({ celsius: 4 });
  });

  it('retries a query or an idempotent mutation on the next instance after the connection broke', async () => {
    const live = await station();
    const broken = await resetting();
    const client = createCorbelClient<WeatherRouter>({ url: [broken.url, live.url], idempotencyKeys: false });
    await client.weather.report.mutate({ city: 'Tromsø', celsius: 2 }, { context: { idempotent: true } });
    expect(broken.requests()).toBe(1);
    expect(await client.weather.latest.query({ city: 'Tromsø' })).toMatchObject({ celsius: 2 });

    const broken2 = await resetting();
    const byPath = createCorbelClient<WeatherRouter>({
      url: [broken2.url, live.url],
      idempotent: ['weather.report'],
      idempotencyKeys: false,
    });
    await byPath.weather.report.mutate({ city: 'Bodø', celsius: 3 });
    expect(broken2.requests()).toBe(1);
    expect(await byPath.weather.latest.query({ city: 'Bodø' })).toMatchObject({ celsius: 3 });

    const broken3 = await resetting();
    const queries = createCorbelClient<WeatherRouter>({ url: [broken3.url, live.url] });
    expect(await queries.weather.latest.query({ city: 'Bodø' })).toMatchObject({ celsius: 3 });
    expect(broken3.requests()).toBe(1);
  });
});
