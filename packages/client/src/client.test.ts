import { describe, expect, it } from 'vitest';
import {
  EventLog,
  errorShape,
  hangPlan,
  healthyPlan,
  refusePlan,
  refusingUrl,
  type ScriptedRouter,
  startScriptedServer,
  until,
} from '../test/sse-server.js';
import { countInCleanWindow, watchTimerLag } from '../test/timer-lag.js';
import { type CorbelClientOptions, createCorbelClient } from './client.js';
import { isHistoryGone } from './errors.js';
import type { StateChange } from './links/state-link.js';

/** A client on the event stream alone (no held-back switch to long polls), reconnecting fast. */
const sseClient = (opts: Omit<CorbelClientOptions, 'transport'>) =>
  createCorbelClient<ScriptedRouter>({ transport: 'sse', maxReconnectDelayMs: 50, ...opts });

/** Subscribes with callbacks; collects ids, payloads, state changes and the final error. */
function collect(client: ReturnType<typeof sseClient>, input?: { lastEventId?: string }) {
  const ids: string[] = [];
  const ns: number[] = [];
  const states: string[] = [];
  let error: unknown;
  const sub = client.ticks.subscribe(input, {
    onData: ({ id, data }) => {
      ids.push(id);
      ns.push(data.n);
    },
    onConnectionStateChange: (s) => states.push(s.state),
    onError: (e) => {
      error = e;
    },
  });
  return {
    ids,
    ns,
    states,
    error: () => error,
    [Symbol.dispose]: () => sub.unsubscribe(),
  };
}

describe('subscriptions: backpressure (a slow consumer)', () => {
  it('an async-iterator consumer slower than the stream gets every event once, in order', async () => {
    await using server = await startScriptedServer();
    let live = 0;
    const client = sseClient({ url: server.url, onStateChange: (s) => void (s.state === 'live' && live++) });
    const ac = new AbortController();
    const got: string[] = [];
    const total = 200;
    const reading = (async () => {
      for await (const { id } of client.ticks.subscribe(undefined, { signal: ac.signal })) {
        got.push(id);
        // Slower than the server writes: every event waits behind the previous one's work.
        await new Promise((resolve) =>
          got.length % 50 === 0 ? setTimeout(resolve, 20) : setImmediate(resolve),
        );
        if (got.length === total) break;
      }
    })();
    await until(() => live === 1, 'the stream to be live');
    const published: string[] = [];
    for (let n = 1; n <= total; n++) published.push(server.log.publish(n));
    await reading;
    ac.abort();
    expect(got).toEqual(published);
    expect(server.streamRequests()).toHaveLength(1);
  });

  it('reads the stream ahead of a consumer that takes no events: all of it waits in the client, then arrives in order', async () => {
    await using server = await startScriptedServer();
    // Counts the bytes the client has read off the stream's body.
    let read = 0;
    const countingFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!res.headers.get('content-type')?.includes('text/event-stream') || !res.body) return res;
      const counted = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            read += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      );
      return new Response(counted, { status: res.status, headers: res.headers });
    };
    const client = sseClient({ url: server.url, fetch: countingFetch });
    const ac = new AbortController();
    const iterator = client.ticks.subscribe(undefined, { signal: ac.signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    await until(() => read > 0, 'the connected frame');
    const pad = 'x'.repeat(16 * 1024);
    const ids: string[] = [];
    for (let n = 1; n <= 256; n++) ids.push(server.log.publish(n, pad));
    expect((await first).value.id).toBe('e-1');
    // The app has taken one event and asks for no more, yet the client keeps reading:
    // the whole 4 MiB is read off the socket and held for the consumer (no bound, so the
    // server never sees a slow consumer behind this client; see the report of issue 16).
    await until(() => read >= 256 * pad.length, 'the client to read the whole stream', 10_000);
    const rest: string[] = [];
    for (let i = 1; i < ids.length; i++) rest.push(((await iterator.next()).value as { id: string }).id);
    expect(['e-1', ...rest]).toEqual(ids);
    expect(server.streamRequests()).toHaveLength(1);
    ac.abort();
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('subscriptions: cut off as a slow consumer', () => {
  it('resumes from the log after SLOW_CONSUMER, with no gap and no duplicate', async () => {
    await using server = await startScriptedServer();
    const client = sseClient({ url: server.url });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live');
    for (let n = 1; n <= 3; n++) server.log.publish(n);
    await until(() => sub.ids.length === 3, 'three events');
    // The server's queue for this subscriber overflowed: it ends the stream with the
    // retryable SLOW_CONSUMER, and keeps the events in its log.
    const slow = errorShape({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      corbelCode: 'SLOW_CONSUMER',
      retryable: true,
    });
    server.streams[0]!.fail(slow);
    for (let n = 4; n <= 6; n++) server.log.publish(n);
    await until(() => sub.ids.length === 6, 'the rest, from the log');
    expect(sub.ids).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6']);
    expect(server.streamRequests()[1]!.resumeId).toBe('e-3');
    expect(sub.error()).toBeUndefined();
  });
});

describe('subscriptions: a stalled stream', () => {
  it('reconnects when the server sends nothing for the announced inactivity timeout, resuming after the last id', async () => {
    await using server = await startScriptedServer();
    server.defaultPlan = healthyPlan(300);
    let token = 0;
    const changes: StateChange[] = [];
    const client = sseClient({
      url: server.url,
      getToken: () => `t${++token}`,
      onStateChange: (s) => changes.push(s),
    });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live');
    server.log.publish(1);
    server.log.publish(2);
    await until(() => sub.ids.length === 2, 'two events');
    // No events and no pings from now on, on this connection; the log moves on.
    server.streams[0]!.silence();
    server.log.publish(3);
    server.log.publish(4);
    await until(() => sub.ids.length === 4, 'the events published while silent');
    server.log.publish(5);
    await until(() => sub.ids.length === 5, 'a live event after the reconnect');
    expect(sub.ids).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
    const streams = server.streamRequests();
    expect(streams).toHaveLength(2);
    expect(streams[0]!.resumeId).toBeUndefined();
    expect(streams[1]!.resumeId).toBe('e-2');
    // Auth is computed afresh for the reconnect.
    expect(streams.map((r) => r.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
    // The stalled connection is closed by the client, not left open beside the new one.
    await until(() => server.streams[0]!.closed, 'the stalled connection to be closed');
    expect(changes.map((c) => c.state)).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    expect(changes[2]!.error?.message).toMatch(/timeout/i);
    expect(sub.error()).toBeUndefined();
  });

  it('keeps resuming exactly across repeated stalls', async () => {
    await using server = await startScriptedServer();
    server.defaultPlan = healthyPlan(200);
    const client = sseClient({ url: server.url });
    using sub = collect(client);
    for (let round = 1; round <= 3; round++) {
      await until(
        () => server.streams.length === round && !server.streams[round - 1]!.closed,
        `stream ${round}`,
      );
      server.log.publish(round);
      await until(() => sub.ids.length === round, `event ${round}`);
      server.streams[round - 1]!.silence();
    }
    await until(() => server.streams.length === 4, 'the fourth connection');
    expect(server.streamRequests().map((r) => r.resumeId)).toEqual([undefined, 'e-1', 'e-2', 'e-3']);
    expect(sub.ids).toEqual(['e-1', 'e-2', 'e-3']);
  });
});

describe('subscriptions: pings', () => {
  it('pings keep a quiet stream alive past the inactivity timeout, and are never delivered', async () => {
    await using server = await startScriptedServer();
    server.defaultPlan = (s) => {
      s.connected({ reconnectAfterInactivityMs: 300 });
      s.follow();
      s.pingEvery(30);
    };
    const changes: StateChange[] = [];
    const client = sseClient({ url: server.url, onStateChange: (s) => changes.push(s) });
    using sub = collect(client);
    const ac = new AbortController();
    const iterated: string[] = [];
    const iterating = (async () => {
      for await (const { id } of client.ticks.subscribe(undefined, { signal: ac.signal })) iterated.push(id);
    })();
    const count = (state: string) => changes.filter((c) => c.state === state).length;
    // Three inactivity timeouts (300 ms) with nothing but pings (every 30 ms).
    // Client and server share this process: a stall of ~270 ms (a loaded
    // machine) runs the inactivity timer before the socket holding the pings
    // is read, and rightly earns a reconnect. So only a quiet window whose own
    // timers never fell 150 ms behind counts, and one of three must be clean
    // and reconnect-free. Without pings every clean window reconnects.
    // (A stall just before a window shows its reconnect in the window's
    // uncounted settle.) Counted: new stream requests and 'reconnecting' states.
    const reconnectsInCleanWindows: number[] = [];
    for (let window = 0; window < 3 && reconnectsInCleanWindows.length === 0; window++) {
      await until(() => count('live') - count('reconnecting') === 2, 'both live');
      const grew = await countInCleanWindow(
        () => server.streamRequests().length + count('reconnecting'),
        900,
      );
      if (grew !== undefined) reconnectsInCleanWindows.push(grew);
    }
    expect(reconnectsInCleanWindows).toEqual([0]);
    expect(sub.ids).toEqual([]);
    expect(iterated).toEqual([]);
    server.log.publish(1);
    await until(() => sub.ids.length === 1 && iterated.length === 1, 'the event');
    expect(sub.ids).toEqual(['e-1']);
    expect(iterated).toEqual(['e-1']);
    ac.abort();
    await iterating;
  });

  it('a stream whose pings stop is reconnected', async () => {
    await using server = await startScriptedServer();
    server.defaultPlan = (s) => {
      s.connected({ reconnectAfterInactivityMs: 300 });
      s.follow();
      s.pingEvery(30);
    };
    const client = sseClient({ url: server.url });
    using sub = collect(client);
    // Pings keep it alive past the inactivity timeout (300 ms): one quiet
    // window of three whose own timers never fell 150 ms behind must be clean
    // and reconnect-free (a stall in this shared process rightly reconnects).
    const reconnectsInCleanWindows: number[] = [];
    for (let window = 0; window < 3 && reconnectsInCleanWindows.length === 0; window++) {
      await until(() => sub.states.at(-1) === 'pending', 'live');
      const grew = await countInCleanWindow(() => server.streamRequests().length, 400);
      if (grew !== undefined) reconnectsInCleanWindows.push(grew);
    }
    expect(reconnectsInCleanWindows).toEqual([0]);
    const before = server.streamRequests().length;
    server.streams.at(-1)!.silence();
    await until(() => server.streamRequests().length === before + 1, 'a reconnect');
    expect(sub.ids).toEqual([]);
  });
});

describe('subscriptions: failover across instances', () => {
  it('moves to the next instance when the first refuses connections, for streams and commands', async () => {
    await using b = await startScriptedServer();
    const client = sseClient({ url: [await refusingUrl(), b.url], token: 'secret' });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live on b');
    b.log.publish(1);
    await until(() => sub.ids.length === 1, 'the event');
    expect(await client.echo.query({ x: 1 })).toEqual({ x: 1 });
    expect(b.requests.map((r) => r.authorization)).toEqual(['Bearer secret', 'Bearer secret']);
  });

  it('resumes on the next instance exactly after the last id when its instance dies, with a fresh token', async () => {
    const log = new EventLog();
    await using a = await startScriptedServer({ log });
    await using b = await startScriptedServer({ log });
    let token = 0;
    const client = sseClient({ url: [a.url, b.url], getToken: () => `t${++token}` });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live on a');
    log.publish(1);
    log.publish(2);
    await until(() => sub.ids.length === 2, 'two events from a');
    await a.close();
    log.publish(3);
    log.publish(4);
    await until(() => sub.ids.length === 4, 'the rest from b');
    log.publish(5);
    await until(() => sub.ids.length === 5, 'a live event from b');
    expect(sub.ids).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
    expect(a.streamRequests()).toHaveLength(1);
    expect(b.streamRequests()).toHaveLength(1);
    expect(b.streamRequests()[0]!.resumeId).toBe('e-2');
    const tokens = [...a.streamRequests(), ...b.streamRequests()].map((r) => r.authorization);
    expect(tokens).toEqual(['Bearer t1', `Bearer t${token}`]);
    expect(token).toBeGreaterThan(1);
    // Later commands go to the live instance too.
    expect(await client.echo.query(7)).toBe(7);
    expect(b.requests.filter((r) => r.kind === 'command')).toHaveLength(1);
  });

  it('leaves an instance that stalls and then answers nothing at all, resuming on the next', async () => {
    const log = new EventLog();
    await using a = await startScriptedServer({ log });
    await using b = await startScriptedServer({ log });
    a.defaultPlan = healthyPlan(300);
    const client = sseClient({ url: [a.url, b.url] });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live on a');
    log.publish(1);
    await until(() => sub.ids.length === 1, 'one event');
    // a freezes: its stream goes silent and new requests are accepted but never answered.
    a.defaultPlan = hangPlan;
    a.streams[0]!.silence();
    log.publish(2);
    await until(() => sub.ids.length === 2, 'the next event, from b', 8000);
    expect(sub.ids).toEqual(['e-1', 'e-2']);
    expect(b.streamRequests()[0]!.resumeId).toBe('e-1');
  });

  it('gives up on a first connect that is never answered (before any connected frame) and moves on', async () => {
    const log = new EventLog();
    await using a = await startScriptedServer({ log });
    await using b = await startScriptedServer({ log });
    a.defaultPlan = hangPlan;
    const client = sseClient({ url: [a.url, b.url], connectTimeoutMs: 300 });
    using sub = collect(client, { lastEventId: '0' });
    await until(() => sub.states.includes('pending'), 'live on b');
    log.publish(1);
    await until(() => sub.ids.length === 1, 'the event, from b');
    expect(a.streamRequests()).toHaveLength(1);
    expect(b.streamRequests()).toHaveLength(1);
  });

  it('on one instance, tries a never-answered first connect again after the inactivity timeout a stream announced', async () => {
    await using server = await startScriptedServer();
    server.defaultPlan = (s) => {
      healthyPlan(300)(s);
      s.pingEvery(100);
    };
    const client = sseClient({ url: server.url });
    using first = collect(client, { lastEventId: '0' });
    // A second subscription's connect is accepted and never answered; the next
    // one is: two requests. Client and server share this process, and a stall
    // of 200 ms (a loaded machine) rightly earns an extra one (the first
    // stream's inactivity timeout, or the retry's connect timeout, runs before
    // the socket is read). So only a round whose own timers never fell 150 ms
    // behind counts, and one of three must be clean with exactly two.
    const requestsInCleanRounds: { requests: number; states: string[] }[] = [];
    let second: ReturnType<typeof collect> | undefined;
    for (let round = 0; round < 3 && requestsInCleanRounds.length === 0; round++) {
      second?.[Symbol.dispose]();
      await until(() => first.states.at(-1) === 'pending', 'the first stream live');
      const lag = watchTimerLag();
      // Not counted: an earlier stall shows its reconnect here.
      await sleep(300);
      const before = server.streamRequests().length;
      server.plans.push(hangPlan);
      second = collect(client, { lastEventId: '0' });
      // EventSource's own retry comes after about 3 s.
      await until(() => second!.states.includes('pending'), 'the second stream live after a retry', 10_000);
      const seen = { requests: server.streamRequests().length - before, states: [...second.states] };
      if (lag() < 150) requestsInCleanRounds.push(seen);
    }
    using _second = second!;
    // The second's own states: its first connect given up, then the retry live.
    expect(requestsInCleanRounds).toEqual([{ requests: 2, states: ['connecting', 'connecting', 'pending'] }]);
    server.log.publish(1);
    await until(() => second!.ids.length === 1 && first.ids.length === 1, 'the event on both');
  });

  it('a draining instance: its streams end with DRAINING, its 503 refusals move the client on', async () => {
    const log = new EventLog();
    await using a = await startScriptedServer({ log });
    await using b = await startScriptedServer({ log });
    const client = sseClient({ url: [a.url, b.url] });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live on a');
    log.publish(1);
    await until(() => sub.ids.length === 1, 'one event');
    const draining = errorShape({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      corbelCode: 'DRAINING',
      retryable: true,
      message: 'the server is shutting down; reconnect to resume',
    });
    a.refuseAll = { status: 503, error: draining, headers: { 'retry-after': '1' } };
    a.streams[0]!.fail(draining);
    log.publish(2);
    await until(() => sub.ids.length === 2, 'the next event from b');
    expect(sub.ids).toEqual(['e-1', 'e-2']);
    expect(b.streamRequests()[0]!.resumeId).toBe('e-1');
    expect(sub.error()).toBeUndefined();
  });

  it('a stream refused with a retryable status on every instance keeps trying, and resumes when one recovers', async () => {
    const log = new EventLog();
    await using a = await startScriptedServer({ log });
    await using b = await startScriptedServer({ log });
    const unavailable = errorShape({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      corbelCode: 'STORE_UNAVAILABLE',
      retryable: true,
    });
    a.refuseAll = { status: 503, error: unavailable, headers: { 'retry-after': '0' } };
    b.refuseAll = { status: 503, error: unavailable, headers: { 'retry-after': '0' } };
    log.publish(1);
    const client = sseClient({ url: [a.url, b.url] });
    using sub = collect(client, { lastEventId: 'e-1' });
    // Both refuse; the client waits (the refusal's retry: 1 s) and tries again, where b now answers.
    await until(() => a.requests.length + b.requests.length >= 2, 'a round of attempts on both');
    log.publish(2);
    b.refuseAll = null;
    await until(() => sub.ids.length === 1, 'the event after the resume id');
    expect(sub.ids).toEqual(['e-2']);
    expect(b.streamRequests().at(-1)!.resumeId).toBe('e-1');
  });
});

describe('subscriptions: the retry policy', () => {
  const refused = (code: string, httpStatus: number, corbelCode: string | null = null, retryable = false) =>
    errorShape({ code, httpStatus, corbelCode, retryable });

  it('does not reconnect after a final refusal (HISTORY_GONE, BAD_REQUEST, FORBIDDEN)', async () => {
    for (const [status, error] of [
      [412, refused('PRECONDITION_FAILED', 412, 'HISTORY_GONE')],
      [400, refused('BAD_REQUEST', 400, 'BAD_REQUEST')],
      [403, refused('FORBIDDEN', 403, 'FORBIDDEN')],
    ] as const) {
      await using server = await startScriptedServer();
      server.plans.push(refusePlan(status, error));
      const client = sseClient({ url: server.url, getToken: () => 'x' });
      using sub = collect(client);
      await until(() => sub.error() !== undefined, `the ${status} error`);
      expect((sub.error() as any).data).toMatchObject({
        code: error.data.code,
        corbelCode: error.data.corbelCode,
      });
      if (status === 412) expect(isHistoryGone(sub.error())).toBe(true);
      await sleep(200);
      expect(server.streamRequests()).toHaveLength(1);
    }
  });

  it('a 500 the server calls final ends the subscription, mid-stream or as a refusal, on either transport', async () => {
    const internal = refused('INTERNAL_SERVER_ERROR', 500, null, false);
    for (const transport of ['sse', 'auto'] as const) {
      await using server = await startScriptedServer();
      const client = createCorbelClient<ScriptedRouter>({
        url: server.url,
        transport,
        maxReconnectDelayMs: 50,
      });
      using sub = collect(client, { lastEventId: '0' });
      await until(() => sub.states.includes('pending'), 'live');
      server.log.publish(1);
      await until(() => sub.ids.length === 1, 'the event');
      server.streams[0]!.fail(internal);
      await until(() => sub.error() !== undefined, `the error (${transport})`);
      expect((sub.error() as any).data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', retryable: false });
      await sleep(300);
      expect(server.streamRequests()).toHaveLength(1);
    }
    await using server = await startScriptedServer();
    server.refuseAll = { status: 500, error: refused('INTERNAL_SERVER_ERROR', 500, 'STORE_CORRUPT') };
    using sub = collect(sseClient({ url: server.url }));
    await until(() => sub.error() !== undefined, 'the refusal');
    expect((sub.error() as any).data.corbelCode).toBe('STORE_CORRUPT');
    await sleep(300);
    expect(server.streamRequests()).toHaveLength(1);
  });

  it('UNAUTHORIZED: no retry with a fixed token; a few retries (each with a fresh token) with getToken', async () => {
    const unauthorized = refused('UNAUTHORIZED', 401, 'UNAUTHENTICATED');
    {
      await using server = await startScriptedServer();
      server.refuseAll = { status: 401, error: unauthorized };
      using sub = collect(sseClient({ url: server.url, token: 'wrong' }));
      await until(() => sub.error() !== undefined, 'the error');
      await sleep(200);
      expect(server.streamRequests()).toHaveLength(1);
    }
    await using server = await startScriptedServer();
    server.refuseAll = { status: 401, error: unauthorized };
    let token = 0;
    using sub = collect(sseClient({ url: server.url, getToken: () => `t${++token}` }));
    await until(() => sub.error() !== undefined, 'the error');
    await sleep(200);
    expect(server.streamRequests().map((r) => r.authorization)).toEqual([
      'Bearer t1',
      'Bearer t2',
      'Bearer t3',
      'Bearer t4',
    ]);
  });

  it('TOKEN_EXPIRED: reconnects with a fresh token and resumes', async () => {
    await using server = await startScriptedServer();
    const expired = refused('UNAUTHORIZED', 401, 'TOKEN_EXPIRED', true);
    let token = 0;
    const client = sseClient({ url: server.url, getToken: () => `t${++token}` });
    using sub = collect(client);
    await until(() => sub.states.includes('pending'), 'live');
    server.log.publish(1);
    await until(() => sub.ids.length === 1, 'one event');
    for (let i = 0; i < 5; i++) server.plans.push(refusePlan(401, expired));
    server.streams[0]!.fail(expired);
    server.log.publish(2);
    await until(() => sub.ids.length === 2, 'the event after the refusals');
    expect(sub.ids).toEqual(['e-1', 'e-2']);
    const streams = server.streamRequests();
    expect(streams).toHaveLength(7);
    expect(new Set(streams.map((r) => r.authorization)).size).toBe(7);
    expect(streams.slice(1).every((r) => r.resumeId === 'e-1')).toBe(true);
  });

  it('waits at least the Retry-After a refusal names before reconnecting (429 LIMIT_EXCEEDED)', async () => {
    await using server = await startScriptedServer();
    const limited = refused('TOO_MANY_REQUESTS', 429, 'LIMIT_EXCEEDED', true);
    server.plans.push(refusePlan(429, limited, { 'retry-after': '1' }));
    // Its own backoff is at most 50 ms here: the second attempt comes after the server's second.
    const client = sseClient({ url: server.url });
    using sub = collect(client);
    await until(() => server.streamRequests().length === 2, 'the reconnect', 5000);
    const [first, second] = server.streamRequests();
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    await until(() => sub.states.includes('pending'), 'live');
    expect(sub.error()).toBeUndefined();
  });
});

describe('createCorbelClient options', () => {
  it('appends basePath to the URL unless it already ends with it', async () => {
    await using server = await startScriptedServer();
    const seen: string[] = [];
    const recording: typeof fetch = (input, init) => {
      seen.push(new URL(String(input)).pathname);
      return fetch(input, init);
    };
    for (const [url, basePath] of [
      [server.url, undefined],
      [`${server.url}/`, '/rpc/'],
      [`${server.url}/rpc`, undefined],
      [`${server.url}/api/v2`, 'api/v2'],
    ] as const) {
      const client = createCorbelClient<ScriptedRouter>({ url, basePath, fetch: recording });
      await client.echo.query(1).catch(() => {});
    }
    expect(seen).toEqual(['/rpc/echo', '/rpc/echo', '/rpc/echo', '/api/v2/echo']);
  });

  it('refuses an unknown transport', () => {
    expect(() => createCorbelClient({ url: 'http://127.0.0.1:1', transport: 'websocket' as never })).toThrow(
      /transport must be/,
    );
  });
});
