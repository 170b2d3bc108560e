import { createHub, createMemoryLog, defineChannel, type Hub, initCorbel } from '@corbel/core';
import { type CorbelServer, type CorbelServerOptions, createCorbelServer } from '@corbel/server';
import { z } from 'zod';

export const ticks = defineChannel('sec.ticks', z.object({ n: z.number().int(), room: z.string() }));
export const inbox = defineChannel('sec.inbox', z.object({ to: z.string(), text: z.string() }));

export interface SecurityContext {
  who: string | null;
}

/** A small service with commands, a public channel with a filter and a private per-owner inbox. */
export function createSecurityRouter(hub: Hub, init: { maxStreamDurationMs?: number } = {}) {
  const t = initCorbel<SecurityContext>({
    pingIntervalMs: 1000,
    reconnectAfterInactivityMs: 5000,
    ...(init.maxStreamDurationMs ? { maxStreamDurationMs: init.maxStreamDurationMs } : {}),
  });
  return t.router({
    whoami: t.procedure.query(({ ctx }) => ctx.who),
    echo: t.procedure.input(z.any()).query(({ input }) => input),
    slow: t.procedure.input(z.object({ ms: z.number().max(10_000) })).query(async ({ input, signal }) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, input.ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return 'done';
    }),
    publish: t.procedure
      .input(z.object({ n: z.number().int(), room: z.string().max(50) }))
      .mutation(async ({ input }) => (await hub.publish(ticks, input)).id),
    send: t.procedure
      .input(z.object({ to: z.string().max(50), text: z.string().max(1000) }))
      .mutation(async ({ input }) => (await hub.publish(inbox, input)).id),
    ticks: t.procedure
      .input(z.object({ room: z.string().max(50).optional(), lastEventId: z.string().max(100).optional() }))
      .subscription(({ input, signal }) =>
        hub.subscribe(ticks, {
          after: input.lastEventId,
          filter: input.room === undefined ? undefined : (p) => p.room === input.room,
          signal,
        }),
      ),
    inbox: t.procedure
      .input(z.object({ owner: z.string().max(50), lastEventId: z.string().max(100).optional() }))
      .subscription(({ input, signal }) =>
        hub.subscribe(inbox, { after: input.lastEventId, filter: (m) => m.to === input.owner, signal }),
      ),
  });
}
export type SecurityRouter = ReturnType<typeof createSecurityRouter>;

export interface SecurityService extends AsyncDisposable {
  url: string;
  hub: Hub;
  server: CorbelServer;
  close(): Promise<void>;
}

/** A real server on 127.0.0.1:0 with the security router and the given server options. */
export async function startSecurityService(
  opts: Partial<CorbelServerOptions<SecurityRouter>> & {
    maxStreamDurationMs?: number;
    maxQueue?: number;
  } = {},
): Promise<SecurityService> {
  const { maxStreamDurationMs, maxQueue, ...serverOpts } = opts;
  const hub = createHub({
    log: createMemoryLog({ retention: { maxCount: 100_000 } }),
    ...(maxQueue ? { maxQueue } : {}),
    ...(serverOpts.metrics ? { hooks: serverOpts.metrics.hubHooks } : {}),
  });
  const server = createCorbelServer({
    router: createSecurityRouter(hub, { maxStreamDurationMs }),
    sseRetryMs: 100,
    drainTimeoutMs: 2000,
    createContext: ({ identity }): SecurityContext => ({ who: identity?.id ?? null }),
    store: hub.log,
    ...serverOpts,
  });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const close = async () => {
    await server.close();
    await hub.close();
  };
  return { url, hub, server, close, [Symbol.asyncDispose]: close };
}

export { until } from '@corbel/testing';

/** A superjson `input=` query string (plain JSON objects need no meta). */
export function q(input: unknown): string {
  return `input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}
