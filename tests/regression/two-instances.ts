import { type CorbelInitOptions, createHub, createMemoryLog, type Hub, initCorbel } from '@corbel/core';
import { type CorbelServer, createCorbelServer } from '@corbel/server';
import { type FaultProxy, type FaultProxyOptions, startFaultProxy } from '@corbel/testing';
import { z } from 'zod';
import { ticks } from '../foundation/fixture.js';

function ticksRouter(hub: Hub, init: CorbelInitOptions) {
  const t = initCorbel(init);
  return t.router({
    ticks: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }).optional())
      .subscription(({ input, signal }) => hub.subscribe(ticks, { after: input?.lastEventId, signal })),
  });
}

export interface TwoInstances extends AsyncDisposable {
  hub: Hub;
  router: ReturnType<typeof ticksRouter>;
  /** The first instance, reached only through `proxy` (whose faults make it frozen, slow, cut). */
  a: CorbelServer;
  b: CorbelServer;
  proxy: FaultProxy;
  bUrl: string;
}

/**
 * Two instances serving `ticks` over one log, like two stations sharing
 * Redis, the first behind a fault proxy: what a failover test gives the
 * client as `[proxy.url, bUrl]`.
 */
export async function startTwoInstances(
  opts: { init?: CorbelInitOptions; plan?: FaultProxyOptions['plan'] } = {},
): Promise<TwoInstances> {
  const hub = createHub({ log: createMemoryLog() });
  const router = ticksRouter(hub, opts.init ?? {});
  const a = createCorbelServer({ router, sseRetryMs: 50 });
  const b = createCorbelServer({ router, sseRetryMs: 50 });
  const aUrl = (await a.listen({ port: 0, host: '127.0.0.1' })).url;
  const bUrl = (await b.listen({ port: 0, host: '127.0.0.1' })).url;
  const proxy = await startFaultProxy({ target: { port: Number(new URL(aUrl).port) }, plan: opts.plan });
  return {
    hub,
    router,
    a,
    b,
    proxy,
    bUrl,
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await a.close();
      await b.close();
      await hub.close();
    },
  };
}
