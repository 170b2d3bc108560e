/**
 * Issue 18: with `transport: 'auto'` the jobs app's progress subscription
 * hung. The auto link opened every subscription without an id with one long
 * poll that does not wait (to learn the channel's newest id), delivered that
 * poll's events and ignored the rest of its answer: a procedure that had
 * already ended in that poll (`done: true`: a finished job's snapshot, then
 * return) was run again as an event stream from the snapshot's id, where
 * nothing ever comes — the app waited forever. And events without ids
 * (a plain generator's values) were delivered by the poll, then again by
 * the stream, which re-ran the procedure from its start.
 *
 * Now the opening poll's answer is used only when it can be resumed from
 * exactly: when it ended the procedure, the subscription ends there; when
 * it carried an event without an id, it is dropped and the stream runs the
 * procedure from its start, once.
 */
import { createCorbelClient } from '@corbel/client';
import { initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { tracked } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

function createRouter() {
  const t = initCorbel();
  return t.router({
    // As jobs.progress for a finished job: one tracked snapshot, then the end.
    finished: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }).optional())
      .subscription(async function* ({ input }) {
        if (input?.lastEventId === undefined) yield tracked('7', { type: 'snapshot' as const });
        // With an id (after the snapshot) nothing more will come: wait like a live subscription does.
        else await sleep(60_000);
      }),
    // A plain generator: values without ids, a few at once, then a few later, then the end.
    plain: t.procedure.subscription(async function* ({ signal }) {
      yield 0;
      yield 1;
      for (let n = 2; n < 6; n++) {
        await sleep(50, signal);
        yield n;
      }
    }),
    // A plain generator that never ends.
    counter: t.procedure.subscription(async function* ({ signal }) {
      for (let n = 0; !signal?.aborted; n++) {
        yield n;
        await sleep(20, signal);
      }
    }),
  });
}

async function startServer() {
  const server = createCorbelServer({ router: createRouter(), drainTimeoutMs: 1000 });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { url, [Symbol.asyncDispose]: () => server.close() };
}

type Router = ReturnType<typeof createRouter>;

/** Collects a subscription's values until it ends (or `limit` values), bounded in time. */
async function collect<T>(stream: AsyncIterable<T>, limit: number, ms: number, signal: AbortController) {
  const values: T[] = [];
  const timer = setTimeout(() => signal.abort(), ms);
  try {
    for await (const value of stream) {
      values.push(value);
      if (values.length >= limit) break;
    }
  } catch (error) {
    if (!signal.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return { values, timedOut: signal.signal.aborted };
}

describe("transport 'auto' (the default) with plain generators", () => {
  it('ends a subscription whose procedure ended in the opening poll (a finished job)', async () => {
    await using srv = await startServer();
    const client = createCorbelClient<Router>({ url: srv.url });
    const ac = new AbortController();
    const { values, timedOut } = await collect(
      client.finished.subscribe(undefined, { signal: ac.signal }),
      10,
      5000,
      ac,
    );
    expect(timedOut).toBe(false);
    expect(values).toEqual([{ id: '7', data: { type: 'snapshot' } }]);
  });

  it('delivers values without ids once, in order, and ends with the procedure', async () => {
    await using srv = await startServer();
    const client = createCorbelClient<Router>({ url: srv.url });
    const ac = new AbortController();
    const { values, timedOut } = await collect(
      client.plain.subscribe(undefined, { signal: ac.signal }),
      20,
      5000,
      ac,
    );
    expect(timedOut).toBe(false);
    expect(values).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('never repeats a value of a generator that does not end', async () => {
    await using srv = await startServer();
    const client = createCorbelClient<Router>({ url: srv.url });
    const ac = new AbortController();
    const { values } = await collect(
      client.counter.subscribe(undefined, { signal: ac.signal }),
      10,
      5000,
      ac,
    );
    ac.abort();
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
