/**
 * The compatibility proof: stock `@trpc/client` links (httpLink,
 * httpBatchLink, httpSubscriptionLink with the `eventsource` package), with no
 * Corbel code on the client, against createCorbelServer. Every check runs
 * against stock tRPC's standalone adapter too, serving the same router, and
 * expects the same observations; the one deliberate difference (a refused
 * subscription is answered with a status before any stream) is tested on its
 * own at the end.
 */
import { openSse, queryInput } from '@corbel/testing';
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { countInCleanWindow } from '../../packages/client/test/timer-lag.js';
import {
  type CompatRouter,
  type CompatService,
  ERROR_CODES,
  type ServerKind,
  startCompatService,
  ticks,
  until,
} from './fixture.js';

function stockClient(
  svc: CompatService,
  opts: { batch?: boolean; headers?: Record<string, string>; onFetch?: (url: string) => void } = {},
) {
  const countingFetch: typeof fetch = (input, init) => {
    opts.onFetch?.(String(input));
    return fetch(input, init);
  };
  const common = { url: svc.url, transformer: superjson, headers: opts.headers, fetch: countingFetch };
  return createTRPCClient<CompatRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: svc.url, transformer: superjson, EventSource }),
        false: opts.batch ? httpBatchLink(common) : httpLink(common),
      }),
    ],
  });
}

type Client = ReturnType<typeof stockClient>;

/** Collects a subscription's callbacks until `done()` says so or it ends. */
function collect<T>(
  subscribe: (handlers: {
    onStarted: () => void;
    onData: (v: T) => void;
    onError: (e: unknown) => void;
    onComplete: () => void;
  }) => { unsubscribe(): void },
) {
  const data: T[] = [];
  const state = { started: 0, error: undefined as unknown, completed: false };
  const sub = subscribe({
    onStarted: () => state.started++,
    onData: (v) => data.push(v),
    onError: (e) => {
      state.error = e;
    },
    onComplete: () => {
      state.completed = true;
    },
  });
  return { data, state, unsubscribe: () => sub.unsubscribe() };
}

const servers: ServerKind[] = ['corbel', 'stock'];

describe.each(servers)('stock @trpc/client against %s', (kind) => {
  it('runs queries and mutations (httpLink) with superjson types and middleware context', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc, { headers: { 'x-user': 'ada' } });
    const value = {
      when: new Date('2026-01-02T03:04:05Z'),
      tags: new Set(['a', 'b']),
      m: new Map([[1, 'x']]),
      big: 10n ** 20n,
      nested: { undef: undefined, list: [1, 'two', null] },
    };
    expect(await client.echo.query(value)).toEqual(value);
    expect(await client.add.mutate({ a: 2, b: 40 })).toEqual({ sum: 42 });
    expect(await client.whoami.query()).toEqual({ user: 'ada', seenBy: 'middleware' });
  });

  it('batches concurrent calls into one request (httpBatchLink), errors per call', async () => {
    await using svc = await startCompatService(kind);
    const fetched: string[] = [];
    const client = stockClient(svc, { batch: true, onFetch: (u) => fetched.push(u) });
    const results = await Promise.allSettled([
      client.echo.query(1),
      client.echo.query('two'),
      client.fail.query({ code: 'NOT_FOUND' }),
      client.whoami.query(),
    ]);
    expect(fetched).toHaveLength(1);
    expect(fetched[0]).toContain('/rpc/echo,echo,fail,whoami?batch=1');
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([
      1,
      'two',
      'rejected',
      { user: null, seenBy: 'middleware' },
    ]);
    const error = (results[2] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404, path: 'fail' });

    const [sum] = await Promise.all([client.add.mutate({ a: 1, b: 2 }), client.add.mutate({ a: 3, b: 4 })]);
    expect(sum).toEqual({ sum: 3 });
    expect(fetched).toHaveLength(2);
  });

  it('reports every error code with its HTTP status, message and formatter data', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc);
    const status: Record<string, number> = {};
    for (const code of ERROR_CODES) {
      const error = await client.fail.query({ code }).catch((e) => e);
      expect(error, code).toBeInstanceOf(TRPCClientError);
      expect(error.message).toBe(`failed with ${code}`);
      expect(error.data.code).toBe(code);
      status[code] = error.data.httpStatus;
    }
    expect(status).toEqual({
      BAD_REQUEST: 400,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      CONFLICT: 409,
      PRECONDITION_FAILED: 412,
      PAYLOAD_TOO_LARGE: 413,
      UNPROCESSABLE_CONTENT: 422,
      TOO_MANY_REQUESTS: 429,
      INTERNAL_SERVER_ERROR: 500,
      NOT_IMPLEMENTED: 501,
      SERVICE_UNAVAILABLE: 503,
    });

    const invalid = await client.add.mutate({ a: 1, b: 'x' as any }).catch((e) => e);
    expect(invalid.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect(invalid.data.issues[0].path).toEqual(['b']);

    const corbel = await client.corbelFail.query().catch((e) => e);
    expect(corbel.data).toMatchObject({ corbelCode: 'HISTORY_GONE', retryable: false });

    for (const path of ['crash', 'badOutput'] as const) {
      const error = await client[path].query().catch((e) => e);
      expect(error.data, path).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 });
      expect(error.data.stack, path).toBeUndefined();
    }

    const missing = await (client as any).nope.query().catch((e: unknown) => e);
    expect(missing.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
  });

  it('subscribes with tracked ids; resumes from lastEventId given as input', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc);
    const s = collect<{ id: string; data: { n: number; at: Date } }>((h) =>
      client.ticks.subscribe(undefined, h),
    );
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the subscriber', timeoutMs: 5000 });
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(await client.publish.mutate({ n }));
    await until(() => s.data.length === 3, { what: 'three events', timeoutMs: 5000 });
    expect(s.data.map((e) => e.id)).toEqual(ids);
    expect(s.data.map((e) => e.data.n)).toEqual([1, 2, 3]);
    expect(s.data[0]!.data.at).toBeInstanceOf(Date);
    s.unsubscribe();
    await until(() => svc.hub.stats().subscribers === 0, {
      what: 'the unsubscribe to reach the server',
      timeoutMs: 5000,
    });

    // Resume: the events after ids[0] are replayed, then live ones follow.
    const r = collect<{ id: string; data: { n: number } }>((h) =>
      client.ticks.subscribe({ lastEventId: ids[0] }, h),
    );
    await until(() => r.data.length === 2, { what: 'the replay', timeoutMs: 5000 });
    ids.push(await client.publish.mutate({ n: 4 }));
    await until(() => r.data.length === 3, { what: 'the live event after the replay', timeoutMs: 5000 });
    expect(r.data.map((e) => e.id)).toEqual(ids.slice(1));
    r.unsubscribe();
  });

  it('reconnects after the connection is cut and resumes by Last-Event-ID, with no gap and no duplicate', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc);
    const s = collect<{ id: string; data: { n: number } }>((h) => client.ticks.subscribe(undefined, h));
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the subscriber', timeoutMs: 5000 });
    // Published on the server side: the cut also drops the commands' keep-alive sockets.
    const publish = async (n: number) => (await svc.hub.publish(ticks, { n, at: new Date() })).id;
    const ids = [await publish(1), await publish(2)];
    await until(() => s.data.length === 2, { what: 'two events', timeoutMs: 5000 });
    svc.cutConnections();
    // Published while the client is away: it must get them on reconnect.
    ids.push(await publish(3));
    await until(() => svc.subscribes() >= 2 && svc.hub.stats().subscribers === 1, { what: 'the reconnect' });
    ids.push(await publish(4));
    await until(() => s.data.length >= 4, { what: 'the missed and the new event' });
    await new Promise((r) => setTimeout(r, 100));
    expect(s.data.map((e) => e.id)).toEqual(ids);
    expect(s.state.error).toBeUndefined();
    s.unsubscribe();
  });

  it('keeps a quiet stream alive with pings (no reconnect past the inactivity timeout)', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc);
    const s = collect<{ id: string; data: { n: number } }>((h) => client.ticks.subscribe(undefined, h));
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the subscriber', timeoutMs: 5000 });
    // Three times reconnectAfterInactivityMs (400 ms) with no event at all. The
    // server and the client share this process: a stall of ~300 ms (a loaded
    // machine) runs the client's inactivity timer before the socket holding
    // the pings is read, and rightly earns a reconnect. So only a quiet window
    // whose own timers never fell 150 ms behind counts, and one of three must
    // be clean and reconnect-free. Without pings every clean window reconnects.
    // A stall just before a window (the end of the previous one) shows its
    // reconnect in an uncounted settle of 300 ms, which must be clean too.
    const reconnectsInCleanWindows: number[] = [];
    for (let window = 0; window < 3 && reconnectsInCleanWindows.length === 0; window++) {
      await until(() => svc.hub.stats().subscribers === 1, { what: 'the subscriber', timeoutMs: 5000 });
      const grew = await countInCleanWindow(() => svc.subscribes(), 1200);
      if (grew !== undefined) reconnectsInCleanWindows.push(grew);
    }
    expect(reconnectsInCleanWindows).toEqual([0]);
    await client.publish.mutate({ n: 1 });
    await until(() => s.data.length === 1, { what: 'an event after the quiet time', timeoutMs: 5000 });
    s.unsubscribe();

    // On the wire: the connected frame announces the inactivity timeout, then pings.
    await using sse = await openSse(`${svc.url}/ticks`);
    expect(sse.status).toBe(200);
    const connected = await sse.next(2000);
    expect(connected).toMatchObject({ event: 'connected' });
    expect(JSON.parse(connected!.data)).toEqual({ reconnectAfterInactivityMs: 400 });
    expect(await sse.next(2000)).toMatchObject({ event: 'ping', data: '' });
  });

  it('pings only a silent stream: one that gets events more often than the ping interval gets none', async () => {
    await using svc = await startCompatService(kind);
    await using sse = await openSse(`${svc.url}/ticks`);
    expect(await sse.next(2000)).toMatchObject({ event: 'connected' });
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the subscriber', timeoutMs: 5000 });
    // An event every 30 ms for 600 ms: six ping intervals (100 ms), never 100 ms
    // of silence. On a loaded machine this process's own timers can leave such
    // a gap, which rightly earns a ping: only a burst published with no gap of
    // 80 ms or more counts, and one of three must be clean and ping-free.
    const pingsInCleanBursts: number[] = [];
    for (let burst = 0; burst < 3 && pingsInCleanBursts.length === 0; burst++) {
      let widest = 0;
      let last = performance.now();
      for (let n = 1; n <= 20; n++) {
        await svc.hub.publish(ticks, { n, at: new Date() });
        await new Promise((r) => setTimeout(r, 30));
        widest = Math.max(widest, performance.now() - last);
        last = performance.now();
      }
      let messages = 0;
      let pings = 0;
      for (let i = 0; i < 200 && messages < 20; i++) {
        const frame = await sse.next(2000);
        if (frame?.event === 'message') messages++;
        // A ping before the burst's first event came in the silence before it
        // (a stall between bursts): only pings among the events count.
        else if (frame?.event === 'ping') pings += messages > 0 ? 1 : 0;
        else throw new Error(`unexpected frame ${JSON.stringify(frame)}`);
      }
      expect(messages).toBe(20);
      if (widest < 80) pingsInCleanBursts.push(pings);
    }
    expect(pingsInCleanBursts, 'one burst of three published without an 80 ms gap').toEqual([0]);
    // Then silence: a ping comes within about one interval.
    const quiet = performance.now();
    expect(await sse.next(2000)).toMatchObject({ event: 'ping' });
    expect(performance.now() - quiet).toBeLessThan(1000);
  });

  it('ends the stream with a return frame (onComplete), after every value', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc);
    const s = collect<{ i: number }>((h) => client.finite.subscribe(undefined, h));
    await until(() => s.state.completed, { what: 'the end of the stream', timeoutMs: 5000 });
    expect(s.data).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
    expect(s.state.error).toBeUndefined();

    await using sse = await openSse(`${svc.url}/finite`);
    const frames = [];
    for (let f = await sse.next(2000); f; f = await sse.next(2000)) frames.push(f);
    expect(frames.map((f) => f.event)).toEqual(['connected', 'message', 'message', 'message', 'return']);
  });

  it('delivers an error thrown mid-stream as a typed error after the values before it', async () => {
    await using svc = await startCompatService(kind);
    const client = stockClient(svc);
    const s = collect<{ i: number }>((h) => client.failing.subscribe(undefined, h));
    await until(() => s.state.error !== undefined, { what: 'the mid-stream error', timeoutMs: 5000 });
    expect(s.data).toEqual([{ i: 1 }, { i: 2 }]);
    const error = s.state.error as TRPCClientError<CompatRouter>;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.message).toBe('broke after two');
    expect(error.data).toMatchObject({ code: 'CONFLICT', httpStatus: 409 });
    expect(s.state.completed).toBe(false);
  });
});

describe('the same requests on the wire', () => {
  // Byte-level differences are allowed (frame field order, "did you mean"
  // hints); statuses, result data and error codes are not.
  const requests: { name: string; path: string; init?: RequestInit }[] = [
    { name: 'query', path: `/echo?${queryInput({ d: new Date(0) })}` },
    {
      name: 'mutation',
      path: '/add',
      init: { method: 'POST', body: JSON.stringify({ json: { a: 1, b: 2 } }) },
    },
    {
      name: 'mixed batch',
      path: `/echo,fail?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { json: 1 }, 1: { json: { code: 'FORBIDDEN' } } }))}`,
    },
    {
      name: 'error batch',
      path: `/fail,fail?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { json: { code: 'CONFLICT' } }, 1: { json: { code: 'CONFLICT' } } }))}`,
    },
    {
      name: 'validation error',
      path: '/add',
      init: { method: 'POST', body: JSON.stringify({ json: { a: 1 } }) },
    },
    { name: 'unknown procedure', path: '/nope' },
    { name: 'mutation by GET', path: '/add' },
    { name: 'query by POST', path: '/echo', init: { method: 'POST', body: '{}' } },
    { name: 'malformed input', path: '/echo?input=%7Bnot-json' },
  ];

  it('answers with the same status, data and error codes as stock tRPC', async () => {
    await using corbel = await startCompatService('corbel');
    await using stock = await startCompatService('stock');
    const essence = (json: any): unknown => {
      if (Array.isArray(json)) return json.map(essence);
      if (json?.result) return { result: json.result };
      if (json?.error)
        return { code: json.error.json?.data?.code, httpStatus: json.error.json?.data?.httpStatus };
      return json;
    };
    for (const r of requests) {
      const init = { ...r.init, headers: { 'content-type': 'application/json' } };
      const [a, b] = await Promise.all([
        fetch(`${corbel.url}${r.path}`, init),
        fetch(`${stock.url}${r.path}`, init),
      ]);
      const [ja, jb] = [await a.json(), await b.json()];
      expect(a.status, r.name).toBe(b.status);
      expect(essence(ja), r.name).toEqual(essence(jb));
    }
  });
});

describe('a refused subscription (Corbel answers before any stream starts)', () => {
  it('stock tRPC sends a serialized-error frame; Corbel a status and JSON error; the stock client stops on both', async () => {
    for (const kind of servers) {
      await using svc = await startCompatService(kind);
      const client: Client = stockClient(svc);
      const s = collect<string>((h) => client.strict.subscribe({ room: 'x' }, h));
      await until(() => s.state.error !== undefined, { what: `${kind}: the refusal`, timeoutMs: 5000 });
      expect(s.data).toEqual([]);
      expect(s.state.error).toBeInstanceOf(TRPCClientError);
      const raw = await fetch(`${svc.url}/strict?${queryInput({ room: 'x' })}`, {
        headers: { accept: 'text/event-stream' },
      });
      const text = await raw.text();
      if (kind === 'corbel') {
        expect(raw.status).toBe(400);
        expect(JSON.parse(text).error.json.data.code).toBe('BAD_REQUEST');
      } else {
        expect(raw.status).toBe(200);
        expect(text).toContain('event: serialized-error');
      }
      s.unsubscribe();
    }
  });
});
