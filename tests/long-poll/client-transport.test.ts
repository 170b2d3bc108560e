import {
  type CorbelClientOptions,
  createCorbelClient,
  isHistoryGone,
  type StateChange,
} from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { startTestService, type TestRouter, type TestService, ticks, until } from '../foundation/fixture.js';
import { startHoldingProxy } from './holding-proxy.js';

interface Received {
  ids: string[];
  ns: number[];
  states: StateChange[];
  errors: unknown[];
  stop(): void;
}

/** Subscribes to test.ticks through a client with `opts`, recording everything. */
function listen(opts: CorbelClientOptions, input: { lastEventId?: string } = {}): Received {
  const states: StateChange[] = [];
  const client = createCorbelClient<TestRouter>({ ...opts, onStateChange: (s) => states.push(s) });
  const got: Received = { ids: [], ns: [], states, errors: [], stop: () => {} };
  const sub = client.ticks.subscribe(input, {
    onData: ({ id, data }) => {
      got.ids.push(id);
      got.ns.push(data.n);
    },
    onError: (error) => got.errors.push(error),
  });
  got.stop = () => sub.unsubscribe();
  return got;
}

/** Publishes a tick every `everyMs` until stopped; resolves with the ids, in order. */
function publishing(svc: TestService, everyMs: number) {
  const ids: string[] = [];
  let n = 1000;
  let running = true;
  const done = (async () => {
    while (running) {
      ids.push((await svc.hub.publish(ticks, { n: n++, at: new Date() })).id);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    ids,
    stop: async () => {
      running = false;
      await done;
      return ids;
    },
  };
}

const live = (r: Received, transport: string) =>
  r.states.some((s) => s.state === 'live' && s.transport === transport);

describe("transport: 'long-poll'", () => {
  it('delivers every event once, in order, resumes by id, and reports itself', async () => {
    await using svc = await startTestService();
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    const r = listen(
      { url: svc.url, transport: 'long-poll', longPollWaitMs: 2000 },
      { lastEventId: first.id },
    );
    const published: string[] = [];
    for (let n = 1; n <= 20; n++) published.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    await until(() => r.ids.length >= 20, { what: '20 events' });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.ids).toEqual(published);
    expect(r.ns).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(live(r, 'long-poll')).toBe(true);
    r.stop();
    await until(() => svc.hub.stats().subscribers === 0, {
      what: 'the poll to be released',
      timeoutMs: 5000,
    });
  });

  it('ends with HISTORY_GONE when its id is no longer retained', async () => {
    await using svc = await startTestService({ retention: 3 });
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    for (let n = 1; n <= 10; n++) await svc.hub.publish(ticks, { n, at: new Date() });
    const r = listen({ url: svc.url, transport: 'long-poll' }, { lastEventId: first.id });
    await until(() => r.errors.length === 1, { what: 'the error' });
    expect(isHistoryGone(r.errors[0])).toBe(true);
    expect(r.ids).toEqual([]);
  });
});

describe("transport: 'auto'", () => {
  it('stays on the event stream when it flows', async () => {
    await using svc = await startTestService();
    // 1.5 s, not less: client and server share this process, and a stall that
    // long runs the held-back timer before the stream's connected frame is read.
    const r = listen({ url: svc.url, transport: 'auto', heldBackMs: 1500 });
    await until(() => live(r, 'sse'), { what: 'live on sse', timeoutMs: 5000 });
    const { id } = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    await until(() => r.ids.length === 1, { what: 'the event', timeoutMs: 5000 });
    // Longer than heldBackMs: a timer left running after the connect would switch.
    await new Promise((res) => setTimeout(res, 1800));
    expect(r.ids).toEqual([id]);
    expect(live(r, 'long-poll')).toBe(false);
    r.stop();
  });

  it('stays on the stream across a server that is down for longer than heldBackMs (refusals are answers)', async () => {
    await using svc = await startTestService();
    await using proxy = await startHoldingProxy(svc.url, false);
    // A channel with history, so the client starts from an id (an empty one starts live-only, as SSE always has).
    await svc.hub.publish(ticks, { n: 0, at: new Date() });
    // 1.5 s: a stall that long in this shared process runs the held-back timer
    // before a connected frame is read; the server stays down for longer still.
    const r = listen({ url: proxy.url, transport: 'auto', heldBackMs: 1500, maxReconnectDelayMs: 300 });
    await until(() => live(r, 'sse'), { what: 'live on sse', timeoutMs: 5000 });
    proxy.down = true;
    proxy.cutStreams();
    await new Promise((res) => setTimeout(res, 2500));
    const { id } = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    proxy.down = false;
    await until(() => r.ids.includes(id), { what: 'the event published while down' }).catch((e) => {
      throw new Error(
        `${e.message}: ${JSON.stringify(r.states.map((s) => [s.state, s.transport, s.error?.message]))} ${r.errors}`,
      );
    });
    expect(r.states.filter((s) => s.state === 'live' && s.transport === 'sse').length).toBeGreaterThanOrEqual(
      2,
    );
    expect(live(r, 'long-poll')).toBe(false);
    r.stop();
  });

  it('switches to long polls when a proxy holds the stream back from the start, losing nothing', async () => {
    await using svc = await startTestService();
    await svc.hub.publish(ticks, { n: 0, at: new Date() });
    await using proxy = await startHoldingProxy(svc.url);
    const feed = publishing(svc, 20);
    await using _ = { [Symbol.asyncDispose]: async () => void (await feed.stop()) };
    await until(() => feed.ids.length >= 3, {
      what: 'a few events before the board starts',
      timeoutMs: 5000,
    });
    const startedAfter = feed.ids.length;
    const r = listen({ url: proxy.url, transport: 'auto', heldBackMs: 600, longPollWaitMs: 1000 });
    await until(() => live(r, 'long-poll'), { what: 'live on long-poll' });
    await new Promise((res) => setTimeout(res, 500));
    const published = await feed.stop();
    await until(() => r.ids.at(-1) === published.at(-1), { what: 'the last event' });
    expect(proxy.streamsSeen).toBeGreaterThan(0);
    // Every event published after the client's first request, once, in order:
    // a suffix of what was published, starting within the client's start-up
    // (events every 20 ms; its first request goes out within a few of them).
    const start = published.indexOf(r.ids[0]!);
    expect(start).toBeGreaterThanOrEqual(startedAfter);
    expect(start).toBeLessThanOrEqual(startedAfter + 10);
    expect(r.ids).toEqual(published.slice(start));
    expect(new Set(r.ids).size).toBe(r.ids.length);
    const switched = r.states.find((s) => s.state === 'reconnecting' && s.transport === 'long-poll');
    expect(switched?.error?.message).toMatch(/switching to long polling/);
    r.stop();
  });

  it('loses nothing either when the channel had no events when it started', async () => {
    await using svc = await startTestService();
    await using proxy = await startHoldingProxy(svc.url);
    const r = listen({ url: proxy.url, transport: 'auto', heldBackMs: 1500, longPollWaitMs: 1000 });
    // Wait until the client has asked for its cursor (its held-back stream reached the proxy).
    await until(() => proxy.streamsSeen === 1, { what: 'the held-back stream', timeoutMs: 5000 });
    const published: string[] = [];
    for (let n = 1; n <= 5; n++) published.push((await svc.hub.publish(ticks, { n, at: new Date() })).id);
    await until(() => r.ids.length >= 5, { what: 'the five events' });
    expect(live(r, 'long-poll')).toBe(true);
    expect(r.ids).toEqual(published);
    r.stop();
  });

  it('switches mid-stream with events in flight: none lost, none twice; and goes back to the stream later', async () => {
    await using svc = await startTestService();
    await using proxy = await startHoldingProxy(svc.url, false);
    const r = listen({
      url: proxy.url,
      transport: 'auto',
      heldBackMs: 600,
      longPollWaitMs: 1000,
      sseRetryMs: 2500,
    });
    await until(() => live(r, 'sse'), { what: 'live on sse', timeoutMs: 5000 });
    const feed = publishing(svc, 10);
    await using _ = { [Symbol.asyncDispose]: async () => void (await feed.stop()) };
    await until(() => r.ids.length >= 20, { what: 'events over the stream' });
    proxy.hold = true;
    proxy.cutStreams();
    await until(() => live(r, 'long-poll'), { what: 'live on long-poll' });
    const atSwitch = r.ids.length;
    await until(() => r.ids.length >= atSwitch + 20, { what: 'events over long polls' });
    proxy.hold = false;
    // After sseRetryMs the client tries the stream again and stays there.
    await until(() => r.states.filter((s) => s.state === 'live' && s.transport === 'sse').length >= 2, {
      what: 'back on sse',
      timeoutMs: 15_000,
    });
    const published = await feed.stop();
    await until(() => r.ids.at(-1) === published.at(-1), { what: 'the last event' });
    expect(r.ids).toEqual(published);
  });
});
