import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import type { RequestContext } from './request-context.js';
import { sendJson } from './respond.js';
import { getTRPCErrorFromUnknown, type ProcedureType } from './trpc-bridge.js';

const ACCEPTED_METHOD: Record<ProcedureType, string> = {
  query: 'GET',
  mutation: 'POST',
  subscription: 'GET',
};

/**
 * Runs queries and mutations, single or batched, exactly as tRPC's HTTP
 * protocol has them, through tRPC's own procedure call (middleware, input and
 * output validation, error formatter) but without a Fetch Request/Response.
 */
export async function serveCommands(
  req: IncomingMessage,
  res: ServerResponse,
  rc: RequestContext,
  types: (ProcedureType | undefined)[],
  rawInputs: () => Promise<unknown[]>,
): Promise<void> {
  const { bridge, paths, isBatch } = rc;
  const errors: TRPCError[] = [];
  const headers: Record<string, string> = {};
  let inputs: unknown[] = [];
  let ctx: unknown;
  let requestError: TRPCError | undefined;
  try {
    inputs = await rawInputs();
    ctx = await rc.createContext();
  } catch (cause) {
    requestError = getTRPCErrorFromUnknown(cause);
  }

  const results = await Promise.all(
    paths.map(async (path, index) => {
      const type = types[index];
      const input = inputs[index];
      try {
        if (requestError) throw requestError;
        if (!type) throw new TRPCError({ code: 'NOT_FOUND', message: rc.notFoundMessage(path) });
        if (req.method !== ACCEPTED_METHOD[type]) {
          headers.allow = ACCEPTED_METHOD[type];
          throw new TRPCError({
            code: 'METHOD_NOT_SUPPORTED',
            message: `Unsupported ${req.method}-request to ${type} procedure at path "${path}"`,
          });
        }
        const data = await bridge.call({ path, type, input, ctx, signal: rc.signal, batchIndex: index });
        return { result: { data } };
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        errors[index] = error;
        rc.reportError(error, path, type ?? 'unknown', input, ctx);
        return { error: bridge.errorShape({ error, type: type ?? 'unknown', path, input, ctx }) };
      }
    }),
  );

  const untransformed = isBatch ? results : results[0];
  const status = bridge.statusOf(untransformed, errors);
  rc.onCommand?.(paths, status);
  sendJson(res, status, JSON.stringify(bridge.wire(untransformed)), headers);
}
