import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createHub, defineChannel, initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { openSse } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from './fixture.js';

// An idle event stream no longer keeps its procedure's AbortSignal alive when
// nothing but the hub subscription listens to it (server/serve/request-abort.ts):
// these check that the signal still does its job whenever anyone can see it,
// with a full garbage collection between opening and leaving.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ch = defineChannel('signal.ticks', z.object({ n: z.number() }));

async function start() {
  const hub = createHub();
  const kept: AbortSignal[] = [];
  let cleanedUp = 0;
  const t = initCorbel();
  const router = t.router({
    // The common shape: only the hub subscription listens to the signal.
    plain: t.procedure.subscription(({ signal }) => hub.subscribe(ch, { signal })),
    // A procedure that keeps the signal to look at it later.
    keeps: t.procedure.subscription(({ signal }) => {
      kept.push(signal!);
      return hub.subscribe(ch, { signal });
    }),
    // A procedure with a cleanup of its own on the signal, and nothing else holding it.
    listens: t.procedure.subscription(({ signal }) => {
      signal!.addEventListener('abort', () => cleanedUp++, { once: true });
      return hub.subscribe(ch, { signal });
    }),
  });
  const server = createCorbelServer({ router });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `${url}/rpc`,
    hub,
    kept,
    cleanedUp: () => cleanedUp,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

async function openAndLeave(url: string, hub: ReturnType<typeof createHub>) {
  const sse = await openSse(url);
  expect((await sse.next(5000))?.event).toBe('connected');
  await until(() => hub.stats().subscribers === 1, { what: 'the subscription', timeoutMs: 5000 });
  gc();
  await new Promise((r) => setTimeout(r, 20));
  gc();
  sse.close();
  await until(() => hub.stats().subscribers === 0, { what: 'the subscription to end', timeoutMs: 5000 });
}

describe("a stream's procedure signal when the client leaves", () => {
  it('ends the hub subscription and delivers before that', async () => {
    await using svc = await start();
    await using sse = await openSse(`${svc.url}/plain`);
    expect((await sse.next(5000))?.event).toBe('connected');
    await until(() => svc.hub.stats().subscribers === 1, { what: 'the subscription', timeoutMs: 5000 });
    gc();
    await svc.hub.publish(ch, { n: 1 });
    expect((await sse.next(5000))?.event).toBe('message');
    gc();
    sse.close();
    await until(() => svc.hub.stats().subscribers === 0, {
      what: 'the subscription to end',
      timeoutMs: 5000,
    });
  });

  it('aborts a signal the procedure kept', async () => {
    await using svc = await start();
    await openAndLeave(`${svc.url}/keeps`, svc.hub);
    expect(svc.kept).toHaveLength(1);
    await until(() => svc.kept[0]!.aborted, { what: 'the kept signal to abort', timeoutMs: 5000 });
  });

  it("runs the procedure's own abort listener", async () => {
    await using svc = await start();
    await openAndLeave(`${svc.url}/listens`, svc.hub);
    await until(() => svc.cleanedUp() === 1, { what: 'the cleanup', timeoutMs: 5000 });
  });
});
