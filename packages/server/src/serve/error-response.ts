import type { ServerResponse } from 'node:http';
import { CorbelError } from '@corbel/core';
import type { TRPCError } from '@trpc/server';
import { sendJson } from './respond.js';
import type { ProcedureType, RouterBridge } from './trpc-bridge.js';

/** Where an error happened and how to answer it; all optional. */
export interface ErrorResponseOptions {
  /** The HTTP status, when it is not the one of the error's tRPC code (414, 431, a 401 on /metrics...). */
  status?: number | undefined;
  type?: ProcedureType | 'unknown' | undefined;
  path?: string | undefined;
  input?: unknown;
  ctx?: unknown;
  /** Extra response headers (connection, retry-after...). */
  headers?: Record<string, string | number> | undefined;
  /**
   * The error's shape when the caller built it already (a long poll's, built
   * and reported like its stream's error frame); the router's formatter is not run twice.
   */
  shape?: unknown;
}

/**
 * The status and JSON body of an error answer: tRPC's wire shape, built by
 * the router's error formatter, with Corbel's code and `retryable` in `data`
 * when the error is a CorbelError. Every refusal the server writes goes
 * through here, so no answer is a bare `{ error: { message } }`.
 *
 * @example
 * const { status, body } = errorBody(bridge, new CorbelError('DRAINING', 'the server is shutting down'));
 */
export function errorBody(
  bridge: RouterBridge,
  error: TRPCError,
  opts: ErrorResponseOptions = {},
): { status: number; body: string } {
  const shape =
    (opts.shape as ReturnType<RouterBridge['errorShape']>) ??
    bridge.errorShape({
      error,
      type: opts.type ?? 'unknown',
      path: opts.path,
      input: opts.input,
      ctx: opts.ctx,
    });
  const status = opts.status ?? bridge.statusOfError(error);
  if (opts.status !== undefined && shape?.data && typeof shape.data === 'object')
    shape.data.httpStatus = status;
  return { status, body: JSON.stringify(bridge.wire({ error: shape })) };
}

/**
 * Writes an error answer (see `errorBody`), unless the response has already
 * started.
 *
 * @example
 * sendError(res, bridge, new CorbelError('DRAINING', 'the server is shutting down'), { headers: { 'retry-after': 1 } });
 */
export function sendError(
  res: ServerResponse,
  bridge: RouterBridge,
  error: TRPCError,
  opts: ErrorResponseOptions = {},
): void {
  const { status, body } = errorBody(bridge, error, opts);
  sendJson(res, status, body, opts.headers);
}

/**
 * The code an answer names for an error: its Corbel code when it has one
 * (what the body's `data.corbelCode` says), else its tRPC code (`data.code`).
 * For answers that carry a code alone, such as the piggyback's `corbel-events-error` header.
 *
 * @example
 * errorCodeOf(new CorbelError('HISTORY_GONE', 'the id is older than the retained history')); // 'HISTORY_GONE'
 */
export function errorCodeOf(error: TRPCError): string {
  return CorbelError.find(error)?.corbelCode ?? error.code;
}
