import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CorbelError, createHub, createMemoryLog, defineChannel, type Hub, initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { z } from 'zod';

export const ticks = defineChannel('compat.ticks', z.object({ n: z.number().int(), at: z.date() }));

const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNPROCESSABLE_CONTENT',
  'TOO_MANY_REQUESTS',
  'INTERNAL_SERVER_ERROR',
  'NOT_IMPLEMENTED',
  'SERVICE_UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
export { ERROR_CODES };

/**
 * One router, served unchanged by Corbel and by stock tRPC's standalone
 * adapter: every compatibility check runs against both and expects the same.
 */
export function createCompatRouter(hub: Hub) {
  const t = initCorbel<{ user: string | null }>({
    pingIntervalMs: 100,
    reconnectAfterInactivityMs: 400,
    isDev: false,
  });
  // A user's middleware keeps working: it sees the context and adds to it.
  const authed = t.procedure.use(({ ctx, next }) => next({ ctx: { ...ctx, seenBy: 'middleware' } }));
  return t.router({
    echo: t.procedure.input(z.any()).query(({ input }) => input),
    add: t.procedure
      .input(z.object({ a: z.number(), b: z.number() }))
      .output(z.object({ sum: z.number() }))
      .mutation(({ input }) => ({ sum: input.a + input.b })),
    whoami: authed.query(({ ctx }) => ({ user: ctx.user, seenBy: ctx.seenBy })),
    fail: t.procedure.input(z.object({ code: z.enum(ERROR_CODES) })).query(({ input }) => {
      throw new TRPCError({ code: input.code, message: `failed with ${input.code}` });
    }),
    corbelFail: t.procedure.query(() => {
      throw new CorbelError('HISTORY_GONE', 'that id is older than the retained history');
    }),
    crash: t.procedure.query(() => {
      throw new Error('a bug');
    }),
    badOutput: t.procedure.output(z.object({ n: z.number() })).query(() => ({ n: 'x' }) as any),
    publish: t.procedure
      .input(z.object({ n: z.number().int() }))
      .mutation(async ({ input }) => (await hub.publish(ticks, { n: input.n, at: new Date() })).id),
    ticks: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }).optional())
      .subscription(({ input, signal }) => hub.subscribe(ticks, { after: input?.lastEventId, signal })),
    /** Three values, then the end of the stream. */
    finite: t.procedure.subscription(async function* () {
      for (let i = 1; i <= 3; i++) yield { i };
    }),
    /** Two values, then an error in the middle of the stream. */
    failing: t.procedure.subscription(async function* () {
      yield { i: 1 };
      yield { i: 2 };
      throw new TRPCError({ code: 'CONFLICT', message: 'broke after two' });
    }),
    /** Refused before any event: input validation. */
    strict: t.procedure.input(z.object({ room: z.string().min(3) })).subscription(async function* ({
      input,
    }) {
      yield input.room;
    }),
  });
}
export type CompatRouter = ReturnType<typeof createCompatRouter>;

export type ServerKind = 'corbel' | 'stock';

export interface CompatService extends AsyncDisposable {
  kind: ServerKind;
  /** The tRPC endpoint, e.g. http://127.0.0.1:1234/rpc */
  url: string;
  hub: Hub;
  /** Subscriptions opened on the hub so far (reconnects count). */
  subscribes(): number;
  /** Cuts every open connection from the server side (clients must reconnect). */
  cutConnections(): void;
  close(): Promise<void>;
}

/** The compat router on 127.0.0.1:0, served by Corbel or by stock tRPC's standalone adapter. */
export async function startCompatService(kind: ServerKind): Promise<CompatService> {
  let subscribed = 0;
  const hub = createHub({
    log: createMemoryLog(),
    hooks: { onSubscribe: () => subscribed++ },
  });
  const router = createCompatRouter(hub);
  const createContext = ({ req }: { req: { headers: Record<string, string | string[] | undefined> } }) => {
    const user = req.headers['x-user'];
    return { user: typeof user === 'string' ? user : null };
  };
  let httpServer: Server;
  let url: string;
  let close: () => Promise<void>;
  if (kind === 'corbel') {
    const server = createCorbelServer({ router, createContext, sseRetryMs: 100 });
    const listening = await server.listen({ port: 0, host: '127.0.0.1' });
    httpServer = server.httpServer;
    url = `${listening.url}/rpc`;
    close = async () => {
      await server.close();
      await hub.close();
    };
  } else {
    const server = createHTTPServer({ router, createContext, basePath: '/rpc/' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    httpServer = server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`;
    close = async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await hub.close();
    };
  }
  const sockets = new Set<Socket>();
  httpServer.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    kind,
    url,
    hub,
    subscribes: () => subscribed,
    cutConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

export { until } from '@corbel/testing';
