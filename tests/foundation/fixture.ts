import type { Socket } from 'node:net';
import { createHub, createMemoryLog, defineChannel, type Hub, initCorbel } from '@corbel/core';
import { type CorbelServer, type CorbelServerOptions, createCorbelServer } from '@corbel/server';
import { type AnyTRPCRouter, TRPCError } from '@trpc/server';
import { z } from 'zod';

export const ticks = defineChannel('test.ticks', z.object({ n: z.number().int(), at: z.date() }));

export function createTestRouter(hub: Hub) {
  const t = initCorbel<{ token: string | null }>({ pingIntervalMs: 1000, reconnectAfterInactivityMs: 5000 });
  return t.router({
    echo: t.procedure.input(z.any()).query(({ input }) => input),
    add: t.procedure
      .input(z.object({ a: z.number(), b: z.number() }))
      .mutation(({ input }) => input.a + input.b),
    slow: t.procedure.input(z.object({ ms: z.number().max(10_000) })).query(async ({ input, signal }) => {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, input.ms);
        signal?.addEventListener('abort', () => clearTimeout(timer));
      });
      return 'done';
    }),
    whoami: t.procedure.query(({ ctx }) => ctx.token),
    publish: t.procedure
      .input(z.object({ n: z.number().int() }))
      .mutation(async ({ input }) => (await hub.publish(ticks, { n: input.n, at: new Date() })).id),
    ticks: t.procedure
      .input(z.object({ lastEventId: z.string().optional(), even: z.boolean().optional() }).optional())
      .subscription(({ input, signal }) =>
        hub.subscribe(ticks, {
          after: input?.lastEventId,
          filter: input?.even ? (p) => p.n % 2 === 0 : undefined,
          signal,
        }),
      ),
  });
}
export type TestRouter = ReturnType<typeof createTestRouter>;

export interface TestService extends AsyncDisposable {
  url: string;
  hub: Hub;
  server: CorbelServer;
  /** Authorization headers seen, in order, per request kind. */
  authSeen: { path: string; authorization: string | undefined }[];
  /** Sockets of open event streams, to cut connections from the server side. */
  streamSockets: Set<Socket>;
  close(): Promise<void>;
}

/** A real Corbel server on 127.0.0.1:0 with the test router. */
export async function startTestService(
  opts: {
    requireToken?: (token: string | undefined) => boolean;
    retention?: number;
    /** Server options of the test's own (a short `sseRetryMs`, tight `limits`). */
    server?: Pick<CorbelServerOptions<TestRouter>, 'sseRetryMs' | 'limits'>;
  } = {},
): Promise<TestService> {
  const hub = createHub({ log: createMemoryLog({ retention: { maxCount: opts.retention ?? 10_000 } }) });
  const authSeen: TestService['authSeen'] = [];
  const { server, url, streamSockets } = await listenTracked({
    router: createTestRouter(hub),
    sseRetryMs: 200,
    drainTimeoutMs: 2000,
    ...opts.server,
    createContext: ({ req, info }) => {
      const authorization = req.headers.authorization;
      authSeen.push({ path: info.paths.join(','), authorization });
      if (opts.requireToken && !opts.requireToken(authorization?.replace(/^Bearer /, ''))) {
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'bad token' });
      }
      return { token: authorization ?? null };
    },
  });
  const close = async () => {
    await server.close();
    await hub.close();
  };
  return { url, hub, server, authSeen, streamSockets, close, [Symbol.asyncDispose]: close };
}

/**
 * A real Corbel server on 127.0.0.1:0 that keeps the sockets of its open
 * event streams, so a test can cut connections from the server side.
 */
export async function listenTracked<TRouter extends AnyTRPCRouter>(
  options: Omit<CorbelServerOptions<TRouter>, 'streamHooks'>,
): Promise<{ server: CorbelServer; url: string; streamSockets: Set<Socket> }> {
  const streamSockets = new Set<Socket>();
  const server = createCorbelServer({
    ...options,
    streamHooks: {
      onOpen: ({ req }) => {
        streamSockets.add(req.socket);
        req.socket.once('close', () => streamSockets.delete(req.socket));
      },
    },
  });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url, streamSockets };
}

/** A fetch that notes when each request whose URL contains `part` was made (then fetches it). */
export function recordingFetch(part: string): { fetch: typeof fetch; attempts: number[] } {
  const attempts: number[] = [];
  return {
    attempts,
    fetch: (input, init) => {
      if (String(input).includes(part)) attempts.push(Date.now());
      return fetch(input, init);
    },
  };
}

export { until } from '@corbel/testing';
