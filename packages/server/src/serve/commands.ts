import type { ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { piggybackHeaders, wantsPiggyback } from './piggyback.js';
import type { RequestContext } from './request-context.js';
import { sendJson } from './respond.js';
import { getTRPCErrorFromUnknown, type ProcedureType } from './trpc-bridge.js';

const ACCEPTED_METHOD: Record<ProcedureType, string> = {
  query: 'GET',
  mutation: 'POST',
  subscription: 'GET',
};

/** Writes the answer; the idempotency path passes one that records it first. */
export type Respond = (
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string>,
) => void;

type CallAnswer = { result: { data: unknown }; error?: undefined } | { error: unknown; result?: undefined };

/**
 * Runs queries and mutations, single or batched, exactly as tRPC's HTTP
 * protocol has them, through tRPC's own procedure call (middleware, input and
 * output validation, error formatter) but without a Fetch Request/Response.
 */
export async function serveCommands(
  rc: RequestContext,
  types: (ProcedureType | undefined)[],
  type: ProcedureType | 'unknown',
  respond: Respond = sendJson,
): Promise<void> {
  const { bridge, paths, isBatch, res } = rc;
  const errors: TRPCError[] = [];
  const headers: Record<string, string> = {};
  let inputs: unknown[] = [];
  let ctx: unknown;
  let requestError: TRPCError | undefined;
  try {
    inputs = await rc.inputs();
    // The in-flight slot, now that the body is in: only running procedures hold one.
    rc.opts.gate.hold(rc.req, res);
    ctx = rc.createContext(type);
    // Awaited only when it is a promise (or thenable): most apps build it synchronously.
    if (typeof (ctx as PromiseLike<unknown> | undefined)?.then === 'function') ctx = await ctx;
  } catch (cause) {
    requestError = getTRPCErrorFromUnknown(cause);
  }

  if (!isBatch) {
    // The common case, one call: no batch bookkeeping, and a success is
    // serialized straight into tRPC's `{ result: { data } }` wire shape.
    const single = await callOne(rc, types[0], paths[0]!, 0, inputs[0], ctx, requestError, errors, headers);
    // Opt-in, after the command ran, so its own events are among them.
    if (wantsPiggyback(rc)) Object.assign(headers, await piggybackHeaders(rc));
    if (single.result) {
      const data = JSON.stringify(bridge.serializeOutput(single.result.data));
      respond(res, 200, data === undefined ? '{"result":{}}' : `{"result":{"data":${data}}}`, headers);
      return;
    }
    const status = bridge.statusOf(single, errors);
    respond(res, status, JSON.stringify(bridge.wire(single)), headers);
    return;
  }

  const results = await Promise.all(
    paths.map((path, i) => callOne(rc, types[i], path, i, inputs[i], ctx, requestError, errors, headers)),
  );
  if (wantsPiggyback(rc)) Object.assign(headers, await piggybackHeaders(rc));
  const status = bridge.statusOf(results, errors);
  respond(res, status, JSON.stringify(bridge.wire(results)), headers);
}

/** One call of the request: its result, or its error shaped by the router's formatter. */
async function callOne(
  rc: RequestContext,
  type: ProcedureType | undefined,
  path: string,
  index: number,
  input: unknown,
  ctx: unknown,
  requestError: TRPCError | undefined,
  errors: TRPCError[],
  headers: Record<string, string>,
): Promise<CallAnswer> {
  try {
    if (requestError) throw requestError;
    if (!type) throw new TRPCError({ code: 'NOT_FOUND', message: rc.notFoundMessage(path) });
    const method = rc.req.method;
    if (method !== ACCEPTED_METHOD[type]) {
      headers.allow = ACCEPTED_METHOD[type];
      throw new TRPCError({
        code: 'METHOD_NOT_SUPPORTED',
        message: `Unsupported ${method}-request to ${type} procedure at path "${path}"`,
      });
    }
    const data = await rc.call({ path, type, input, ctx, signal: rc.signal, batchIndex: index });
    return { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    errors[index] = error;
    rc.reportError(error, path, type ?? 'unknown', input, ctx);
    return { error: rc.bridge.errorShape({ error, type: type ?? 'unknown', path, input, ctx }) };
  }
}
