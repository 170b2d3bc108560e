/**
 * The command contenders (`corbel|trpc|raw|floor|orpc`), each on its own
 * node:http server on loopback. All answer POST <path> with body
 * `{"json":{"a":1,"b":2}}` after the same zod validation of input and output;
 * the tRPC-shaped ones with the tRPC wire answer `{"result":{"data":{"json":{"sum":3}}}}`,
 * oRPC on its own RPC wire (`{"json":{"sum":3}}`, the same request body).
 * Shared by the bench's command server (command-server.ts) and the
 * instruction count (counted-server.ts), so both measure the same code.
 */
import { createServer, type Server } from 'node:http';
import { createHub } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { os } from '@orpc/server';
import { RPCHandler } from '@orpc/server/node';
import { callTRPCProcedure } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { addInput, addOutput, createBenchRouter } from '../bench-router.js';
import { BENCH_LIMITS } from '../corbel-limits.js';
import { bodyServer, listen } from './body-server.js';
import { floorServer } from './floor-server.js';

export const COMMAND_KINDS = ['corbel', 'trpc', 'raw', 'floor', 'orpc'] as const;

/** A listening contender: where it answers, and how to stop it. */
export interface CommandContenderServer {
  url: string;
  path: string;
  close(): Promise<void>;
}

/** Raw node:http: the floor of what Node can do with the same validation and wire shape. */
function rawServer(): Server {
  return bodyServer((text, req) => {
    if (req.method !== 'POST' || req.url !== '/rpc/add') return [404, ''];
    try {
      const parsed = addInput.safeParse(JSON.parse(text).json);
      if (!parsed.success) {
        return [400, JSON.stringify({ error: { json: { message: parsed.error.message, code: -32600 } } })];
      }
      const out = addOutput.parse({ sum: parsed.data.a + parsed.data.b });
      return [200, JSON.stringify({ result: { data: { json: out } } })];
    } catch {
      return [400, '{"error":{"json":{"message":"bad json","code":-32700}}}'];
    }
  });
}

/**
 * oRPC 1.x on its node adapter (`RPCHandler` from `@orpc/server/node`), the
 * same zod `add` procedure on oRPC's own RPC protocol, mounted at /rpc.
 */
function orpcServer(): Server {
  const router = {
    add: os
      .input(addInput)
      .output(addOutput)
      .handler(({ input }) => ({ sum: input.a + input.b })),
  };
  const handler = new RPCHandler(router);
  return createServer(async (req, res) => {
    const { matched } = await handler.handle(req, res, { prefix: '/rpc', context: {} });
    if (!matched) {
      res.statusCode = 404;
      res.end();
    }
  });
}

/** Starts one contender on 127.0.0.1 (a free port). */
export async function startCommandContender(kind: string): Promise<CommandContenderServer> {
  const hub = createHub();
  const router = createBenchRouter(hub);
  const path = '/rpc/add';
  if (kind === 'corbel') {
    const server = createCorbelServer({ router, limits: BENCH_LIMITS });
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    return { url, path, close: () => server.close() };
  }
  const server =
    kind === 'trpc'
      ? createHTTPServer({ router, basePath: '/rpc/' })
      : kind === 'floor'
        ? floorServer(router, callTRPCProcedure)
        : kind === 'orpc'
          ? orpcServer()
          : kind === 'raw'
            ? rawServer()
            : undefined;
  if (!server) throw new Error(`unknown command contender ${kind}; one of ${COMMAND_KINDS.join(', ')}`);
  const url = await listen(server);
  return { url, path, close: () => new Promise((r) => server.close(() => r())) };
}
