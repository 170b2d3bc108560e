import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CorbelError, createHub, defineChannel, initCorbel } from '@corbel/core';
import { TRPCError, tracked } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  answerLongPoll,
  collectEvents,
  LONG_POLL_DEFAULT_WAIT_MS,
  LONG_POLL_MAX_WAIT_MS,
  longPollRequestOf,
  withResumeId,
} from './long-poll.js';
import { bridgeRouter } from './trpc-bridge.js';

const t = initCorbel();
const bridge = bridgeRouter(t.router({ ping: t.procedure.query(() => 'pong') }));
const url = (query: string) => new URL(`http://h/rpc/weather.readings${query}`);

describe('longPollRequestOf', () => {
  it('is null for an event-stream request', () => {
    expect(longPollRequestOf(url(''), null)).toBeNull();
    expect(longPollRequestOf(url('?input=%7B%7D'), '5')).toBeNull();
  });

  it('reads the flag, the wait and the resume id', () => {
    expect(longPollRequestOf(url('?longPoll=1'), null)).toEqual({
      waitMs: LONG_POLL_DEFAULT_WAIT_MS,
      lastEventId: null,
    });
    expect(longPollRequestOf(url('?longPoll=true&wait=0'), '42')).toEqual({ waitMs: 0, lastEventId: '42' });
    expect(longPollRequestOf(url(`?longPoll=1&wait=${LONG_POLL_MAX_WAIT_MS}`), null)?.waitMs).toBe(
      LONG_POLL_MAX_WAIT_MS,
    );
  });

  it('refuses a bad flag and a bad or oversized wait with BAD_REQUEST', () => {
    const refusal = (query: string) => {
      try {
        longPollRequestOf(url(query), null);
      } catch (error) {
        return error as TRPCError;
      }
      throw new Error(`${query} was accepted`);
    };
    expect(refusal('?longPoll=yes')).toMatchObject({ code: 'BAD_REQUEST' });
    for (const wait of ['-1', '1.5', 'soon', '', `${LONG_POLL_MAX_WAIT_MS + 1}`, '9999999999']) {
      const error = refusal(`?longPoll=1&wait=${encodeURIComponent(wait)}`);
      expect(error.code, wait).toBe('BAD_REQUEST');
      expect(error.message).toMatch(/wait must be a whole number of milliseconds/);
    }
    // The echoed value is cut short.
    expect(refusal(`?longPoll=1&wait=${'x'.repeat(500)}`).message.length).toBeLessThan(200);
  });
});

describe('withResumeId', () => {
  it("puts the client's resume id into the input, over the input's own", () => {
    expect(withResumeId({ city: 'Oslo', lastEventId: '1' }, '42')).toEqual({
      city: 'Oslo',
      lastEventId: '42',
    });
    expect(withResumeId(undefined, '42')).toEqual({ lastEventId: '42' });
    const input = { city: 'Oslo' };
    expect(withResumeId(input, null)).toBe(input);
  });
});

const readings = defineChannel('readings', z.object({ n: z.number() }));

describe('collectEvents', () => {
  it('answers the stored events after the id, bounded, with the id to resume from', async () => {
    const hub = createHub();
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push((await hub.publish(readings, { n })).id);
    const source = await hub.subscribe(readings, { after: ids[0] });
    const got = await collectEvents(
      bridge,
      source,
      { waitMs: 0, lastEventId: ids[0]! },
      new AbortController().signal,
      { maxEvents: 3, maxBytes: 1 << 20 },
    );
    const data = JSON.parse(got.data);
    expect(data.events.map((e: { id: string }) => e.id)).toEqual(ids.slice(1, 4));
    expect(data.events[0].data).toEqual({ json: { n: 1 } });
    expect(data).toMatchObject({ lastEventId: ids[3], more: true, done: false });
    expect(got).toMatchObject({ count: 3, failure: undefined });
    // The subscription is closed once the poll is answered.
    expect(hub.stats().subscribers).toBe(0);
  });

  it("reads a plain generator's values and its end", async () => {
    async function* values() {
      yield tracked('a', 1);
      yield 2;
    }
    const got = await collectEvents(
      bridge,
      values(),
      { waitMs: 1000, lastEventId: null },
      new AbortController().signal,
    );
    expect(JSON.parse(got.data)).toEqual({
      events: [{ id: 'a', data: { json: 1 } }, { data: { json: 2 } }],
      lastEventId: 'a',
      more: false,
      done: true,
    });
  });

  it('reports an error that comes before any event as the failure', async () => {
    // biome-ignore lint/correctness/useYield: fails before its first value on purpose
    async function* failing() {
      throw new CorbelError('HISTORY_GONE', 'too old');
    }
    const got = await collectEvents(
      bridge,
      failing(),
      { waitMs: 0, lastEventId: '1' },
      new AbortController().signal,
    );
    expect(got.failure).toBeInstanceOf(TRPCError);
    expect(JSON.parse(got.data).events).toEqual([]);
  });
});

describe('answerLongPoll', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = undefined;
  });

  /** A real server answering every request with one long poll of `source()`. */
  async function serve(source: () => AsyncIterable<unknown>): Promise<string> {
    server = createServer((_req, res) => {
      void answerLongPoll({
        bridge,
        res,
        source: source(),
        request: { waitMs: 0, lastEventId: '1' },
        abort: new AbortController(),
        errorShape: (error) =>
          bridge.errorShape({ error, type: 'subscription', path: 'readings', input: {}, ctx: {} }),
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/readings`;
  }

  it('answers events with 200 and no-store', async () => {
    const target = await serve(async function* () {
      yield tracked('2', { n: 2 });
    });
    const res = await fetch(target);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect((await res.json()).result.data).toMatchObject({ lastEventId: '2', done: true });
  });

  it("answers a failure before any event as every refusal is answered: status, Corbel code, tRPC's wire shape", async () => {
    // biome-ignore lint/correctness/useYield: fails before its first value on purpose
    const target = await serve(async function* () {
      throw new CorbelError('HISTORY_GONE', 'the id is older than the retained history');
    });
    const res = await fetch(target);
    expect(res.status).toBe(412);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.json();
    expect(body.error.json.message).toBe('the id is older than the retained history');
    expect(body.error.json.data).toMatchObject({
      corbelCode: 'HISTORY_GONE',
      httpStatus: 412,
      path: 'readings',
    });
  });
});
