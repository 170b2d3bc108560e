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
export function serveCommands(
  rc: RequestContext,
  types: (ProcedureType | undefined)[],
  respond: Respond = sendJson,
): Promise<void> {
  return rc.isBatch ? serveBatch(rc, types, respond) : serveOne(rc, types[0], respond);
}

/**
 * The common case, one call, in one async function: no batch bookkeeping,
 * and a success is serialized straight into tRPC's `{ result: { data } }`
 * wire shape. The steps and their order are those of `serveBatch`.
 */
async function serveOne(
  rc: RequestContext,
  procedureType: ProcedureType | undefined,
  respond: Respond,
): Promise<void> {
  const { bridge, res, req } = rc;
  const path = rc.paths[0]!;
  let headers: Record<string, string> | undefined;
  let input: unknown;
  let data: unknown;
  let answer: CallAnswer | undefined;
  let error: TRPCError | undefined;
  try {
    input = (await rc.inputs())[0];
    // The in-flight slot, now that the body is in: only running procedures hold one.
    rc.opts.gate.hold(req, res);
    // Awaited only when it is a promise: most apps build their context synchronously.
    const ctx = rc.context();
    if (ctx instanceof Promise) await ctx;
    if (!procedureType) throw new TRPCError({ code: 'NOT_FOUND', message: rc.notFoundMessage(path) });
    const method = req.method;
    if (method !== ACCEPTED_METHOD[procedureType]) {
      headers = { allow: ACCEPTED_METHOD[procedureType] };
      throw new TRPCError({
        code: 'METHOD_NOT_SUPPORTED',
        message: `Unsupported ${method}-request to ${procedureType} procedure at path "${path}"`,
      });
    }
    data = await rc.call({ path, type: procedureType, input, signal: rc.signal, batchIndex: 0 });
  } catch (cause) {
    // A request error (input, slot, context) is answered as the call's error, with what was known then.
    error = getTRPCErrorFromUnknown(cause);
    answer = { error: rc.failed(error, path, procedureType ?? 'unknown', input) };
  }
  // Opt-in, after the command ran, so its own events are among them.
  if (wantsPiggyback(rc)) headers = Object.assign(headers ?? {}, await piggybackHeaders(rc));
  if (!answer) {
    const text = JSON.stringify(bridge.serializeOutput(data));
    respond(
      res,
      200,
      text === undefined ? '{"result":{}}' : `{"result":{"data":${text}}}`,
      headers ?? NO_HEADERS,
    );
    return;
  }
  respond(res, bridge.statusOf(answer, [error!]), JSON.stringify(bridge.wire(answer)), headers ?? NO_HEADERS);
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

async function serveBatch(
  rc: RequestContext,
  types: (ProcedureType | undefined)[],
  respond: Respond,
): Promise<void> {
  const { bridge, paths, res } = rc;
  const errors: TRPCError[] = [];
  const headers: Record<string, string> = {};
  let inputs: unknown[] = [];
  let requestError: TRPCError | undefined;
  try {
    inputs = await rc.inputs();
    // The in-flight slot, now that the body is in: only running procedures hold one.
    rc.opts.gate.hold(rc.req, res);
    await rc.context();
  } catch (cause) {
    requestError = getTRPCErrorFromUnknown(cause);
  }
  const results = await Promise.all(
    paths.map((path, i) => callOne(rc, types[i], path, i, inputs[i], requestError, errors, headers)),
  );
  if (wantsPiggyback(rc)) Object.assign(headers, await piggybackHeaders(rc));
  const status = bridge.statusOf(results, errors);
  respond(res, status, JSON.stringify(bridge.wire(results)), headers);
}

/** One call of the request: its result, or its error shaped by the router's formatter. */
export async function callOne(
  rc: RequestContext,
  type: ProcedureType | undefined,
  path: string,
  index: number,
  input: unknown,
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
    const data = await rc.call({ path, type, input, signal: rc.signal, batchIndex: index });
    return { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    errors[index] = error;
    return { error: rc.failed(error, path, type ?? 'unknown', input) };
  }
}
