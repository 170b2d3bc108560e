import { createCorbelClient, isHistoryGone, type StateChange } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { startTestService, type TestRouter, until } from './fixture.js';

describe('client ↔ server over real sockets', () => {
  it('runs commands with superjson types intact', async () => {
    await using svc = await startTestService();
    const client = createCorbelClient<TestRouter>({ url: svc.url });
    const value = {
      when: new Date('2026-01-02T03:04:05Z'),
      tags: new Set(['a']),
      m: new Map([[1, 'x']]),
      big: 10n ** 20n,
    };
    expect(await client.echo.query(value)).toEqual(value);
    expect(await client.add.mutate({ a: 2, b: 3 })).toBe(5);
  });

  it('batches concurrent commands into one HTTP request', async () => {
    await using svc = await startTestService();
    const client = createCorbelClient<TestRouter>({ url: svc.url });
    const [a, b, c] = await Promise.all([client.echo.query(1), client.echo.query(2), client.whoami.query()]);
    expect([a, b, c]).toEqual([1, 2, null]);
    expect(svc.authSeen.map((s) => s.path)).toEqual(['echo,echo,whoami']);
  });

  it('reports validation errors with their field path', async () => {
    await using svc = await startTestService();
    const client = createCorbelClient<TestRouter>({ url: svc.url });
    const error = await client.add.mutate({ a: 1, b: 'x' as any }).catch((e) => e);
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect(error.data.issues[0].path).toEqual(['b']);
    expect(error.message).toMatch(/^b: /);
  });

  it('times out a slow command and aborts it on the server', async () => {
    await using svc = await startTestService();
    const client = createCorbelClient<TestRouter>({ url: svc.url, timeoutMs: 200 });
    const started = Date.now();
    await expect(client.slow.query({ ms: 5000 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(4000);
    const controller = new AbortController();
    const call = client.slow.query({ ms: 5000 }, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toThrow();
  });

  it('subscribes with tracked ids, as an async iterator', async () => {
    await using svc = await startTestService();
    const client = createCorbelClient<TestRouter>({ url: svc.url });
    const controller = new AbortController();
    const stream = client.ticks.subscribe(undefined, { signal: controller.signal });
    const got: { id: string; n: number; at: Date }[] = [];
    const reading = (async () => {
      for await (const { id, data } of stream) {
        got.push({ id, n: data.n, at: data.at });
        if (got.length === 3) break;
      }
    })();
    await until(() => svc.hub.stats().subscribers === 1, { what: 'subscriber', timeoutMs: 5000 });
    const ids = [
      await client.publish.mutate({ n: 1 }),
      await client.publish.mutate({ n: 2 }),
      await client.publish.mutate({ n: 3 }),
    ];
    await reading;
    expect(got.map((g) => g.n)).toEqual([1, 2, 3]);
    expect(got.map((g) => g.id)).toEqual(ids);
    expect(got[0]!.at).toBeInstanceOf(Date);
    await until(() => svc.hub.stats().subscribers === 0, { what: 'cleanup after break', timeoutMs: 5000 });
  });

  it('resumes after its connection is cut, with no gap and no duplicate, on a fresh token', async () => {
    let tokenNo = 1;
    await using svc = await startTestService({ requireToken: (t) => t?.startsWith('token-') ?? false });
    const states: StateChange[] = [];
    const client = createCorbelClient<TestRouter>({
      url: svc.url,
      getToken: () => `token-${tokenNo}`,
      onStateChange: (s) => states.push(s),
    });
    const got: number[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ data }) => got.push(data.n) });
    await until(() => svc.streamSockets.size === 1, { what: 'stream open', timeoutMs: 5000 });
    for (let n = 1; n <= 3; n++) await client.publish.mutate({ n });
    await until(() => got.length === 3, { what: 'first three', timeoutMs: 5000 });

    tokenNo = 2;
    for (const socket of svc.streamSockets) socket.destroy();
    for (let n = 4; n <= 10; n++) await client.publish.mutate({ n });
    await until(() => got.length >= 10, { what: 'resumed events' });
    sub.unsubscribe();
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const streamAuth = svc.authSeen.filter((s) => s.path === 'ticks').map((s) => s.authorization);
    expect(streamAuth[0]).toBe('Bearer token-1');
    expect(streamAuth.at(-1)).toBe('Bearer token-2');
    expect(states.map((s) => s.state)).toContain('reconnecting');
    expect(states.filter((s) => s.state === 'live').length).toBeGreaterThanOrEqual(2);
  });

  it('surfaces a refused stream as a typed error (garbage id → BAD_REQUEST, trimmed id → history gone)', async () => {
    await using svc = await startTestService({ retention: 2 });
    const client = createCorbelClient<TestRouter>({ url: svc.url });
    const first = await client.publish.mutate({ n: 1 });
    for (let n = 2; n <= 5; n++) await client.publish.mutate({ n });

    const garbage = await new Promise<any>((resolve) => {
      client.ticks.subscribe(
        { lastEventId: 'not-an-id' },
        { onError: resolve, onData: () => resolve('data') },
      );
    });
    expect(garbage.data).toMatchObject({ code: 'BAD_REQUEST', corbelCode: 'INVALID_EVENT_ID' });

    const gone = await new Promise<any>((resolve) => {
      client.ticks.subscribe({ lastEventId: first }, { onError: resolve, onData: () => resolve('data') });
    });
    expect(isHistoryGone(gone)).toBe(true);
  });

  it('drains on close(): open streams end with a retryable error and close() returns promptly', async () => {
    const svc = await startTestService();
    const client = createCorbelClient<TestRouter>({ url: svc.url });
    const states: string[] = [];
    const sub = client.ticks.subscribe(undefined, {
      onData: () => {},
      onConnectionStateChange: (s) => states.push(`${s.state}:${s.error?.message ?? ''}`),
    });
    await until(() => svc.server.streamCount === 1, { what: 'stream open', timeoutMs: 5000 });
    const started = Date.now();
    await svc.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(svc.server.streamCount).toBe(0);
    await until(() => states.some((s) => s.includes('shutting down')), {
      what: 'drain error seen by client',
      timeoutMs: 5000,
    });
    sub.unsubscribe();
  });
});
