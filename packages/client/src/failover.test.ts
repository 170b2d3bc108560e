import type { Operation } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { refusingUrl, startResettingServer, startScriptedServer, until } from '../test/sse-server.js';
import { createInstancePool, failoverFetch, isRetrySafe } from './failover.js';

const rpc = (origin: string) => `${origin}/rpc`;

/** A scripted instance answering every command with `status` (200: its input back). */
async function instance(status = 200) {
  const server = await startScriptedServer();
  if (status !== 200) {
    server.onCommand = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { json: { message: `status ${status}` } } }));
      return true;
    };
  }
  return server;
}

describe('createInstancePool', () => {
  it('starts at the first URL, moves on when the current one fails, wraps around, ignores stale reports', () => {
    const pool = createInstancePool(['a', 'b', 'c']);
    expect(pool.primary).toBe('a');
    expect(pool.current()).toBe('a');
    pool.failed('a');
    expect(pool.current()).toBe('b');
    // A late report about an instance the pool already left changes nothing.
    pool.failed('a');
    expect(pool.current()).toBe('b');
    pool.failed('b');
    pool.failed('c');
    expect(pool.current()).toBe('a');
    expect(pool.primary).toBe('a');
  });

  it('refuses an empty list', () => {
    expect(() => createInstancePool([])).toThrow(TypeError);
  });
});

describe('failoverFetch', () => {
  it('is the base fetch itself for a single instance', () => {
    const pool = createInstancePool(['http://127.0.0.1:1/rpc']);
    expect(failoverFetch(pool, fetch, 'always')).toBe(fetch);
  });

  it('sends requests for the primary URL to the current instance and leaves other URLs alone', async () => {
    await using a = await instance();
    await using b = await instance();
    await using other = await instance();
    const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
    pool.failed(rpc(a.url));
    const f = failoverFetch(pool, fetch, 'always');
    expect((await f(`${rpc(a.url)}/echo?input=${encodeURIComponent('{"json":1}')}`)).status).toBe(200);
    expect(b.requests.map((r) => r.path)).toEqual(['echo']);
    expect((await f(`${rpc(other.url)}/echo`)).status).toBe(200);
    expect(other.requests).toHaveLength(1);
    expect(a.requests).toHaveLength(0);
  });

  it('moves to the next instance when a connection is refused, in both modes, and stays there', async () => {
    for (const mode of ['unsent', 'always'] as const) {
      await using b = await instance();
      const dead = rpc(await refusingUrl());
      const pool = createInstancePool([dead, rpc(b.url)]);
      const f = failoverFetch(pool, fetch, mode);
      expect((await f(`${dead}/echo`)).status).toBe(200);
      expect(pool.current()).toBe(rpc(b.url));
      expect((await f(`${dead}/echo`)).status).toBe(200);
      expect(b.requests).toHaveLength(2);
    }
  });

  it("after a request was sent and its connection broke: 'always' tries the next instance, 'unsent' does not", async () => {
    await using broken = await startResettingServer();
    await using b = await instance();
    const always = failoverFetch(createInstancePool([rpc(broken.url), rpc(b.url)]), fetch, 'always');
    expect((await always(`${rpc(broken.url)}/echo`, { method: 'POST', body: '{}' })).status).toBe(200);
    expect([broken.requests(), b.requests.length]).toEqual([1, 1]);

    const pool = createInstancePool([rpc(broken.url), rpc(b.url)]);
    const unsent = failoverFetch(pool, fetch, 'unsent');
    await expect(unsent(`${rpc(broken.url)}/report`, { method: 'POST', body: '{}' })).rejects.toThrow();
    // The server may have run it: it is not sent again anywhere, and the pool stays.
    expect([broken.requests(), b.requests.length]).toEqual([2, 1]);
    expect(pool.current()).toBe(rpc(broken.url));
  });

  it("on 502, 503 and 504: 'always' moves on; the last instance's answer is returned as it is", async () => {
    for (const status of [502, 503, 504]) {
      await using a = await instance(status);
      await using b = await instance();
      const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
      const res = await failoverFetch(pool, fetch, 'always')(`${rpc(a.url)}/echo`);
      expect(res.status).toBe(200);
      expect(pool.current()).toBe(rpc(b.url));
    }
    await using a = await instance(503);
    await using b = await instance(503);
    const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
    const res = await failoverFetch(pool, fetch, 'always')(`${rpc(a.url)}/echo`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { json: { message: 'status 503' } } });
    expect([a.requests.length, b.requests.length]).toEqual([1, 1]);
  });

  it("returns other answers as they are: a 503 in 'unsent' mode, a 500, a 4xx", async () => {
    for (const [status, mode] of [
      [503, 'unsent'],
      [500, 'always'],
      [429, 'always'],
      [401, 'always'],
    ] as const) {
      await using a = await instance(status);
      await using b = await instance();
      const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
      expect((await failoverFetch(pool, fetch, mode)(`${rpc(a.url)}/echo`)).status).toBe(status);
      expect(b.requests).toHaveLength(0);
      expect(pool.current()).toBe(rpc(a.url));
    }
  });

  it('throws the last error when every instance refuses', async () => {
    const urls = [rpc(await refusingUrl()), rpc(await refusingUrl())];
    const f = failoverFetch(createInstancePool(urls), fetch, 'always');
    const error = await f(`${urls[0]}/echo`).catch((e: unknown) => e);
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });

  it("stops at the caller's abort; only a stream's abandoned request counts against the instance", async () => {
    for (const abandonIsFailure of [false, true]) {
      await using a = await instance();
      await using b = await instance();
      // a accepts the request and never answers it.
      a.onCommand = () => true;
      const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
      const f = failoverFetch(pool, fetch, 'always', { abandonIsFailure });
      const ac = new AbortController();
      const pending = f(`${rpc(a.url)}/ticks`, { signal: ac.signal });
      await until(() => a.requests.length === 1, 'the request');
      ac.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      expect(b.requests).toHaveLength(0);
      expect(pool.current()).toBe(rpc(abandonIsFailure ? b.url : a.url));
    }
  });
});

describe('isRetrySafe', () => {
  const op = (type: Operation['type'], path: string, context: Record<string, unknown> = {}) =>
    ({ type, path, context, id: 1, input: undefined, signal: null }) as Operation;

  it('queries, mutations listed by path, and calls marked idempotent may be repeated; other mutations not', () => {
    const safe = isRetrySafe(['weather.report']);
    expect(safe(op('query', 'weather.latest'))).toBe(true);
    expect(safe(op('mutation', 'weather.report'))).toBe(true);
    expect(safe(op('mutation', 'weather.delete'))).toBe(false);
    expect(safe(op('mutation', 'weather.delete', { idempotent: true }))).toBe(true);
    expect(isRetrySafe()(op('mutation', 'weather.report'))).toBe(false);
  });
});
