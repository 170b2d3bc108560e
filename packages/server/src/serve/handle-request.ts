import type { IncomingMessage, ServerResponse } from 'node:http';
import { CorbelError } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import { IDEMPOTENCY_HEADER } from '../idempotency/serve-idempotent.js';
import { requestIdOf } from '../request-id.js';
import { serveCommands } from './commands.js';
import { sendError } from './error-response.js';
import { EventStream, type StreamErrorShape } from './event-stream.js';
import { answerLongPoll, longPollRequestOf, withResumeId } from './long-poll.js';
import { requestAbort } from './request-abort.js';
import { RequestContext, reportRequestError } from './request-context.js';
import { getTRPCErrorFromUnknown, type ProcedureType } from './trpc-bridge.js';
import type { RpcHandlerOptions } from './types.js';

export type { CreateContextOptions, OnErrorOptions, RpcHandlerOptions } from './types.js';

/**
 * The tRPC HTTP protocol on node:http: `<basePath>/<path>` (or
 * `<basePath>/<a>,<b>?batch=1`), GET for queries and subscriptions, POST for
 * mutations. Answers requests outside `basePath` with false so the server can
 * route them elsewhere.
 */
export function createRpcHandler(opts: RpcHandlerOptions) {
  const { bridge, basePath, streams, gate } = opts;
  const prefix = `${basePath}/`;
  // One error-frame builder for every stream: it reads the call from the stream.
  const report = { gate: opts.gate, bridge: opts.bridge, onError: opts.onError };
  const streamError: StreamErrorShape = (error, stream) => {
    reportRequestError(report, stream.req, error, stream.path, 'subscription', stream.input, stream.ctx);
    return bridge.errorShape({
      error,
      type: 'subscription',
      path: stream.path,
      input: stream.input,
      ctx: stream.ctx,
    });
  };

  const errorResponse = (
    res: ServerResponse,
    error: TRPCError,
    rc: RequestContext,
    type: ProcedureType | 'unknown',
  ) => {
    const path = rc.isBatch ? undefined : rc.paths[0];
    rc.reportError(error, path, type, undefined);
    sendError(res, bridge, error, { type, path });
  };

  return async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const pathname = url.pathname;
    // A real prefix check: "/rpcx/y" is not under "/rpc".
    if (!pathname.startsWith(prefix)) return false;

    const isBatch = url.search !== '' && url.searchParams.get('batch') === '1';
    const rc = new RequestContext(opts, req, res, url, [], isBatch);

    let raw: string;
    try {
      const encoded = pathname.slice(prefix.length);
      // Most paths have nothing to decode, and decoding is a runtime call.
      raw = encoded.includes('%') ? decodeURIComponent(encoded) : encoded;
    } catch (cause) {
      errorResponse(
        res,
        new TRPCError({ code: 'BAD_REQUEST', message: 'malformed procedure path', cause }),
        rc,
        'unknown',
      );
      return true;
    }
    const paths = isBatch ? raw.split(',') : [raw];
    rc.paths = paths;
    if (isBatch && paths.length > opts.maxBatchSize) {
      gate.limitHit(req, 'batch');
      errorResponse(
        res,
        new TRPCError({
          code: 'BAD_REQUEST',
          message: `batch of ${paths.length} calls exceeds the limit of ${opts.maxBatchSize}`,
        }),
        rc,
        'unknown',
      );
      return true;
    }
    const types = isBatch ? paths.map((p) => bridge.typeOf(p)) : [bridge.typeOf(raw)];
    let type: ProcedureType | 'unknown' = 'unknown';
    for (const t of types) {
      if (t === undefined || t === type) continue;
      if (type !== 'unknown') {
        errorResponse(
          res,
          new TRPCError({
            code: 'BAD_REQUEST',
            message: `Cannot mix procedure types in call: ${[...new Set(types.filter(Boolean))].join(', ')}`,
          }),
          rc,
          'unknown',
        );
        return true;
      }
      type = t;
    }
    rc.type = type;

    // A stream's own controller, made before anything is awaited so a client
    // that leaves during set-up is seen; the stream (or long poll) aborts it when it ends.
    const abort = type === 'subscription' ? requestAbort(req) : undefined;

    // A method no procedure takes is 405 whoever asks (security.md: OPTIONS
    // without CORS is 405 like any other): it says nothing about procedures.
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, POST');
      errorResponse(
        res,
        new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: `${req.method} is not supported; use GET or POST`,
        }),
        rc,
        'unknown',
      );
      return true;
    }

    // Who is calling, and may they: before anything else is looked at, so an
    // unauthenticated caller learns nothing (not even which procedures exist).
    // A command's in-flight slot is taken later, once its body is in.
    try {
      const admitted = gate.admit(req, res, type === 'subscription' ? 'stream' : 'commands', paths.length);
      rc.identity = (admitted instanceof Promise ? await admitted : admitted).identity;
    } catch (cause) {
      errorResponse(res, getTRPCErrorFromUnknown(cause), rc, type);
      return true;
    }

    if (req.method === 'HEAD') {
      res.writeHead(204, { 'x-request-id': requestIdOf(req) }).end();
      return true;
    }
    if (type !== 'subscription') {
      const started = performance.now();
      // Only a mutation that carries the header goes through the idempotency records.
      await (opts.idempotency && type === 'mutation' && req.headers[IDEMPOTENCY_HEADER] !== undefined
        ? opts.idempotency.serve(rc, types, type)
        : serveCommands(rc, types));
      // One place reports every command request, whichever way it was answered.
      opts.onCommand?.(paths, res.statusCode);
      opts.onCommandDone?.(req, paths, res.statusCode, performance.now() - started);
      return true;
    }

    // Event stream: everything that can be refused is refused with a status
    // and a JSON error before the first byte of the stream.
    const path = paths[0]!;
    const streamAbort = abort!;
    let input: unknown;
    try {
      if (isBatch) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Cannot batch subscription calls' });
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        throw new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: `Unsupported ${req.method}-request to subscription procedure at path "${path}"`,
        });
      }
      const lastEventId = lastEventIdOf(req, url);
      // A long poll (section 4.4 of the protocol) is refused for the same reasons, at the same point.
      const longPoll = longPollRequestOf(url, lastEventId);
      [input] = await rc.inputs();
      input = withResumeId(input, lastEventId);
      // The same steps as a command's: context, authorization, tRPC's call.
      await rc.context();
      const source = await rc.call({
        path,
        type: 'subscription',
        input,
        signal: streamAbort.signal,
        batchIndex: 0,
      });
      if (!isAsyncIterable(source)) {
        throw new TRPCError({
          code: 'INTERNAL_SERVER_ERROR',
          message: `Subscription ${path} must return an async iterable (an async generator or hub.subscribe())`,
        });
      }
      if (streamAbort.signal.aborted) {
        // The client left while the stream was being set up: nothing to open, stop the source.
        source[Symbol.asyncIterator]()
          .return?.()
          ?.catch(() => {});
        return true;
      }
      if (longPoll) {
        await answerLongPoll({
          bridge,
          res,
          source,
          request: longPoll,
          abort: streamAbort,
          errorShape: (error) => streamError(error, { req, path, input, ctx: rc.ctx }),
          path,
          metrics: gate.metrics,
        });
        return true;
      }
      const stream = new EventStream(streams, res, path, req, streamAbort, streamError, input, rc.ctx);
      const expiresAt = rc.identity?.expiresAt;
      if (expiresAt !== undefined) endAtExpiry(stream, res, expiresAt);
      stream.run(source);
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      if (res.headersSent) return true;
      rc.reportError(error, path, 'subscription', input);
      sendError(res, bridge, error, { type: 'subscription', path, input, ctx: rc.ctx });
    }
    return true;
  };
}

// The helpers below build what an open event stream keeps for its whole life
// (listeners, timers, error callbacks). They live outside `handle` on purpose:
// a closure made inside it would keep the whole request's scope (URL, inputs,
// request context) alive per subscriber.

/**
 * The credentials end, so does the stream: a retryable TOKEN_EXPIRED error
 * the client answers by reconnecting with a fresh token.
 */
function endAtExpiry(stream: EventStream, res: ServerResponse, expiresAt: number): void {
  const delay = Math.max(0, expiresAt - Date.now());
  if (delay >= 2 ** 31 - 1) return;
  const timer = setTimeout(
    () =>
      stream.fail(new CorbelError('TOKEN_EXPIRED', 'the bearer token expired; reconnect with a fresh one')),
    delay,
  );
  timer.unref();
  res.once('close', () => clearTimeout(timer));
}

/** The resume id: the `Last-Event-ID` header (EventSource reconnects) or the URL, as tRPC reads it. */
function lastEventIdOf(req: IncomingMessage, url: URL): string | null {
  const header = req.headers['last-event-id'];
  const value =
    (Array.isArray(header) ? header[0] : header) ??
    url.searchParams.get('lastEventId') ??
    url.searchParams.get('Last-Event-Id');
  return value === undefined || value === null || value === '' ? null : value;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as any)[Symbol.asyncIterator] === 'function'
  );
}
