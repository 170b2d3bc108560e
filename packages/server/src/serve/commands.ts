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

  const callOne = async (path: string, index: number) => {
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
  };

  if (!isBatch) {
    // The common case, one call: no batch bookkeeping, and a success is
    // serialized straight into tRPC's `{ result: { data } }` wire shape.
    const single = await callOne(paths[0]!, 0);
    if (single.result) {
      const data = JSON.stringify(bridge.serializeOutput(single.result.data));
      sendJson(res, 200, data === undefined ? '{"result":{}}' : `{"result":{"data":${data}}}`, headers);
      return;
    }
    const status = bridge.statusOf(single, errors);
    sendJson(res, status, JSON.stringify(bridge.wire(single)), headers);
    return;
  }

  const results = await Promise.all(paths.map(callOne));

  const status = bridge.statusOf(results, errors);
  sendJson(res, status, JSON.stringify(bridge.wire(results)), headers);
}
