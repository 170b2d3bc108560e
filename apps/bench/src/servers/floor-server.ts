import type { Server } from 'node:http';
import type { AnyTRPCRouter, callTRPCProcedure } from '@trpc/server';
import { bodyServer } from './body-server.js';

/**
 * The floor of any serving path that keeps tRPC's procedure semantics: raw
 * node:http around nothing but tRPC's own procedure call (middleware, zod
 * validation, superjson) for the router's one `add` mutation. No routing,
 * limits, errors or metrics: what is left between it and `raw` is what
 * tRPC's procedure call itself costs. `call` is tRPC's `callTRPCProcedure`,
 * passed in so the CPU A/B can use another checkout's copy.
 */
export function floorServer(router: AnyTRPCRouter, call: typeof callTRPCProcedure): Server {
  const transformer = (router._def as any)._config.transformer;
  return bodyServer(async (text) => {
    try {
      const input = transformer.input.deserialize(JSON.parse(text));
      const data = await call({
        router,
        path: 'add',
        type: 'mutation',
        ctx: {},
        signal: undefined,
        batchIndex: 0,
        getRawInput: async () => input,
      });
      return [200, `{"result":{"data":${JSON.stringify(transformer.output.serialize(data))}}}`];
    } catch {
      return [400, '{"error":{"json":{"message":"bad request","code":-32600}}}'];
    }
  });
}
