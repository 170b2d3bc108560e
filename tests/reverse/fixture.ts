import type { Socket } from 'node:net';
import {
  createHub,
  createMemoryLog,
  createMemorySessions,
  defineHandler,
  defineHandlers,
  type EventLog,
  type Hub,
  initCorbel,
  isSessionId,
  type SessionRegistry,
} from '@corbel/core';
import {
  type CorbelServer,
  createReverseRouter,
  createReverseService,
  createSessionRouter,
  createSessionService,
  type ReverseService,
  type ReverseServiceOptions,
} from '@corbel/server';
import { z } from 'zod';
import { listenTracked } from '../foundation/fixture.js';

/** The handlers test clients implement. */
export const testHandlers = defineHandlers({
  'echo.upper': defineHandler({
    input: z.object({ text: z.string().max(100_000) }),
    output: z.object({ text: z.string(), at: z.date() }),
  }),
  'slow.wait': defineHandler({
    input: z.object({ ms: z.number() }),
    output: z.object({ aborted: z.boolean() }),
  }),
  'fail.now': defineHandler({ input: z.object({}), output: z.string() }),
  'bad.output': defineHandler({ input: z.object({}), output: z.number() }),
  'not.registered': defineHandler({ input: z.object({}), output: z.null() }),
  'job.progress': defineHandler({ input: z.object({ percent: z.number() }), output: z.boolean() }),
});

interface Ctx {
  identity: string | null;
}

function createTestRouter(hub: Hub, registry: SessionRegistry, reverse: ReverseService<typeof testHandlers>) {
  const t = initCorbel<Ctx>({ pingIntervalMs: 1000, reconnectAfterInactivityMs: 5000 });
  const ownerOf = (ctx: Ctx) => ctx.identity;
  const service = createSessionService({ registry, hub, message: z.object({ text: z.string() }) });
  return {
    service,
    router: t.router({
      session: createSessionRouter<Ctx, z.ZodObject<{ text: z.ZodString }>>({ service, ownerOf }),
      reverse: createReverseRouter<Ctx>({ service: reverse, ownerOf }),
      job: t.router({
        // The CORBA callback pattern: the command takes the caller's handler reference.
        run: t.procedure
          .input(z.object({ steps: z.number().int().max(10), progress: z.string().refine(isSessionId) }))
          .mutation(async ({ ctx, input }) => {
            const sink = await reverse.callbackOf(ctx.identity ?? '', input.progress);
            const acks: boolean[] = [];
            for (let i = 1; i <= input.steps; i++) {
              acks.push(
                await sink.call('job.progress', { percent: (100 * i) / input.steps }, { timeoutMs: 5000 }),
              );
            }
            return acks;
          }),
      }),
    }),
  };
}
export type ReverseTestRouter = ReturnType<typeof createTestRouter>['router'];

export interface ReverseTestServer extends AsyncDisposable {
  url: string;
  hub: Hub;
  reverse: ReverseService<typeof testHandlers>;
  server: CorbelServer;
  /** Sockets of open event streams, to cut connections from the server side. */
  streamSockets: Set<Socket>;
  close(): Promise<void>;
}

/** A real Corbel server on 127.0.0.1:0 with sessions and reverse calls; the bearer token is the identity. */
export async function startReverseServer(
  opts: Partial<Omit<ReverseServiceOptions<typeof testHandlers>, 'hub' | 'handlers'>> & {
    log?: EventLog;
  } = {},
): Promise<ReverseTestServer> {
  const hub = createHub({ log: opts.log ?? createMemoryLog() });
  const registry = opts.registry ?? createMemorySessions();
  const reverse = createReverseService({ graceMs: 500, ...opts, hub, registry, handlers: testHandlers });
  const { router, service } = createTestRouter(hub, registry, reverse);
  const { server, url, streamSockets } = await listenTracked({
    router,
    sseRetryMs: 100,
    drainTimeoutMs: 1000,
    limits: { maxInFlightPerIdentity: 4096, commandsPerSecond: 0 },
    createContext: ({ req }): Ctx => ({
      identity: req.headers.authorization?.replace(/^Bearer /, '') ?? null,
    }),
  });
  const close = async () => {
    reverse.close();
    service.close();
    await server.close();
    await hub.close();
  };
  return { url, hub, reverse, server, streamSockets, close, [Symbol.asyncDispose]: close };
}

export { until } from '../foundation/fixture.js';
