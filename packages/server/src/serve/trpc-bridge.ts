/**
 * Everything the serving path needs from tRPC, in one file. All of it comes
 * from tRPC's public entries (`@trpc/server`, `@trpc/server/http`); what it
 * reads of a router's internals goes through `@corbel/core/internal`'s
 * trpc-def module, the one place that touches `router._def`. If a tRPC upgrade moves any of this, this file
 * and the wire-compatibility tests are where it shows.
 */
import type { SuperjsonDecodeLimits } from '@corbel/core';
import {
  checkSuperjsonInput,
  routerConfig,
  routerProcedures,
  type SuperjsonDecodeSpent,
} from '@corbel/core/internal';
import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  type TRPCError,
  type TRPCProcedureType,
  transformTRPCResponse,
} from '@trpc/server';
import { getHTTPStatusCode, getHTTPStatusCodeFromError } from '@trpc/server/http';

export type ProcedureType = TRPCProcedureType;

export interface SseConfig {
  pingMs: number;
  reconnectAfterInactivityMs: number | undefined;
  maxDurationMs: number | undefined;
}

/** The parts of a router's configuration the serving path reads, resolved once. */
export interface RouterBridge {
  router: AnyTRPCRouter;
  typeOf(path: string): ProcedureType | undefined;
  paths(): string[];
  /** Decodes one input; `spent` is shared by the inputs of one request (one decoding budget per request). */
  deserializeInput(raw: unknown, spent?: SuperjsonDecodeSpent): unknown;
  serializeOutput(value: unknown): unknown;
  sse: SseConfig;
  /** Runs one procedure through tRPC's own call (middleware, validation), with the request's context. */
  call(
    opts: {
      path: string;
      type: ProcedureType;
      input: unknown;
      signal: AbortSignal | undefined;
      batchIndex: number;
    },
    ctx: unknown,
  ): Promise<unknown>;
  errorShape(opts: {
    error: TRPCError;
    type: ProcedureType | 'unknown';
    path: string | undefined;
    input: unknown;
    ctx: unknown;
  }): any;
  /** `{ result: { data } }` or `{ error }`, transformed for the wire. */
  wire(response: unknown): unknown;
  statusOf(json: unknown, errors: TRPCError[]): number;
  statusOfError(error: TRPCError): number;
}

export function bridgeRouter(
  router: AnyTRPCRouter,
  decodeLimits: Partial<SuperjsonDecodeLimits> = {},
): RouterBridge {
  const config = routerConfig(router);
  const procedures = routerProcedures(router);
  const transformer = config.transformer;
  // superjson (any instance: it is the one with a class registry) costs more
  // than the body's size to decode when its annotations are hostile: every
  // input it decodes is checked against a budget first.
  const guarded = typeof transformer.input?.registerClass === 'function';
  const sse = config.sse ?? {};
  return {
    router,
    typeOf: (path) => (Object.hasOwn(procedures, path) ? procedures[path]?._def?.type : undefined),
    paths: () => Object.keys(procedures),
    deserializeInput: (raw, spent) => {
      if (guarded) checkSuperjsonInput(raw, decodeLimits, spent);
      return transformer.input.deserialize(raw);
    },
    serializeOutput: (value) => transformer.output.serialize(value),
    sse: {
      pingMs: sse.ping?.enabled === false ? 0 : (sse.ping?.intervalMs ?? 10_000),
      reconnectAfterInactivityMs: sse.client?.reconnectAfterInactivityMs,
      maxDurationMs: sse.maxDurationMs,
    },
    call: ({ path, type, input, signal, batchIndex }, ctx) => {
      const getRawInput = () => Promise.resolve(input);
      // A procedure the router holds is called directly with tRPC's procedure
      // call options (what `callTRPCProcedure` does after its lookup): its
      // middleware chain copies these options at every step, so no extra key
      // (such as the router) rides along. Lazy routers go the long way.
      const procedure = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
      if (procedure?._def?.type === type) {
        return procedure({ path, type, ctx, signal, batchIndex, getRawInput });
      }
      return callTRPCProcedure({ router, path, type, ctx, signal, batchIndex, getRawInput } as any);
    },
    errorShape: ({ error, type, path, input, ctx }) =>
      getTRPCErrorShape({ config, error, type, path, input, ctx } as any),
    wire: (response) => transformTRPCResponse(config as any, response as any),
    statusOf: (json, errors) => getHTTPStatusCode(json as any, errors),
    statusOfError: (error) => getHTTPStatusCodeFromError(error),
  };
}

export { getTRPCErrorFromUnknown };
