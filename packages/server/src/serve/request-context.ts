import type { IncomingMessage, ServerResponse } from 'node:http';
import { CorbelError } from '@corbel/core';
import { closestNames, type SuperjsonDecodeSpent } from '@corbel/core/internal';
import { TRPCError } from '@trpc/server';
import type { Identity } from '../auth/authenticate.js';
import { parseJson, readBody } from './body.js';
import { commandSignal } from './request-abort.js';
import type { ProcedureType, RouterBridge } from './trpc-bridge.js';
import type { RpcHandlerOptions } from './types.js';

type CallOptions = Parameters<RouterBridge['call']>[0];

/**
 * One RPC request on its way through the serving path: what was asked
 * (paths, batch), by whom, and the steps every call of it shares, for
 * commands and event streams alike: inputs, the tRPC context (made once),
 * the authorization rule, the procedure call, error reports. Methods rather
 * than closures: a command builds one object, not ten functions.
 */
export class RequestContext {
  identity: Identity | null = null;
  /** The request's procedure type, once known (what `createContext` is told). */
  type: ProcedureType | 'unknown' = 'unknown';
  /** The tRPC context once made (undefined before, or without `createContext`): error reports and shapes read it. */
  ctx: unknown;
  private ctxMade = false;

  constructor(
    readonly opts: RpcHandlerOptions,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: URL,
    /** The procedure paths asked for (set once the URL's path is decoded). */
    public paths: string[],
    readonly isBatch: boolean,
  ) {}

  /** What the procedures of this command request see as `signal` (see `commandSignal`). */
  get signal(): AbortSignal {
    return commandSignal(this.req);
  }

  get bridge(): RouterBridge {
    return this.opts.bridge;
  }

  /**
   * Makes the tRPC context, once per request (a batch's calls share it), before
   * any procedure is looked up, as tRPC does, so error formatters and onError
   * see it. A promise only when `createContext` returns one: most apps build
   * it synchronously, and a command then pays for no extra turn.
   */
  context(): unknown {
    if (this.ctxMade) return this.ctx;
    this.ctxMade = true;
    const create = this.opts.createContext;
    if (!create) return undefined;
    const { req, res, paths, isBatch, identity, type } = this;
    const made = create({ req, res, info: { paths, type, isBatch }, identity });
    if (typeof (made as PromiseLike<unknown> | undefined)?.then !== 'function') {
      this.ctx = made;
      return made;
    }
    return Promise.resolve(made).then((ctx) => {
      this.ctx = ctx;
      return ctx;
    });
  }

  /**
   * Calls one procedure through tRPC with the request's context (made by
   * `context()` first), after the server's authorization rule when it has one:
   * the same steps for a query, a mutation and a subscription.
   */
  call(call: CallOptions): Promise<unknown> {
    const { gate, bridge } = this.opts;
    if (!gate.authorizes) return bridge.call(call, this.ctx);
    return gate
      .authorize(
        { identity: this.identity, path: call.path, type: call.type, input: call.input, req: this.req },
        this.res,
      )
      .then(() => bridge.call(call, this.ctx));
  }

  /** Reports an error of this request (limit metrics, the log line, the server's onError) and shapes it with the router's formatter. */
  failed(
    error: TRPCError,
    path: string | undefined,
    type: ProcedureType | 'unknown',
    input: unknown,
  ): unknown {
    const { ctx } = this;
    reportRequestError(this.opts, this.req, error, path, type, input, ctx);
    return this.opts.bridge.errorShape({ error, type, path, input, ctx });
  }

  /** Reports an error of this request: limit metrics, the log line, the server's onError. */
  reportError(
    error: TRPCError,
    path: string | undefined,
    type: ProcedureType | 'unknown',
    input: unknown,
  ): void {
    reportRequestError(this.opts, this.req, error, path, type, input, this.ctx);
  }

  notFoundMessage(path: string): string {
    const near = closestNames(path, this.opts.bridge.paths());
    return `No procedure found on path "${path.slice(0, 200)}"${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : ''}`;
  }

  /** Read once: the idempotency check fingerprints the inputs before the call reads them again. */
  private inputsRead: Promise<unknown[]> | undefined;

  /**
   * The calls' inputs, decoded: from the `input` query parameter (GET) or the
   * JSON body (POST), one per path for a batch. The body is read once; later
   * calls get the same answer.
   */
  inputs(): Promise<unknown[]> {
    this.inputsRead ??= this.readInputs();
    return this.inputsRead;
  }

  private async readInputs(): Promise<unknown[]> {
    const { req, url, paths, isBatch } = this;
    let body: unknown;
    if (req.method === 'GET') {
      const q = url.search === '' ? null : url.searchParams.get('input');
      if (q !== null && q !== '') body = parseJson(q, 'the "input" query parameter');
    } else {
      const contentType = req.headers['content-type'];
      if (contentType !== undefined && contentType !== 'application/json') {
        const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
        if (type && type !== 'application/json') {
          throw new TRPCError({
            code: 'UNSUPPORTED_MEDIA_TYPE',
            message: `Content-Type ${type.slice(0, 100)} is not supported; send application/json`,
          });
        }
      }
      // The body counts against its address while it arrives; no in-flight slot is held yet.
      const { gate } = this.opts;
      gate.bodyStarted(req, this.res);
      let text: string;
      try {
        text = await readBody(req, this.opts.maxBodyBytes, this.opts.bodyTimeoutMs);
      } finally {
        gate.bodyDone(req);
      }
      if (text !== '') body = parseJson(text, 'the request body');
    }
    if (body === undefined) return [];
    if (!isBatch) return [this.deserialize(body)];
    // One decoding budget for the whole batch, not one per call.
    const spent = { annotations: 0, steps: 0 };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: '"input" needs to be an object when doing a batch call',
      });
    }
    return paths.map((_, i) => {
      const v = (body as Record<string, unknown>)[i];
      return v === undefined ? undefined : this.deserialize(v, spent);
    });
  }

  private deserialize(value: unknown, spent?: SuperjsonDecodeSpent): unknown {
    try {
      return this.opts.bridge.deserializeInput(value, spent);
    } catch (cause) {
      // Over the decoding budget: its own code and message say what to change.
      if (cause instanceof CorbelError) throw cause;
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: 'input could not be decoded (superjson)',
        cause,
      });
    }
  }
}

/** Reports an error of one request: limit metrics, the log line, the server's onError. */
export function reportRequestError(
  opts: Pick<RpcHandlerOptions, 'gate' | 'bridge' | 'onError'>,
  req: IncomingMessage,
  error: TRPCError,
  path: string | undefined,
  type: ProcedureType | 'unknown',
  input: unknown,
  ctx: unknown,
): void {
  const { gate, bridge, onError } = opts;
  if (error.code === 'PAYLOAD_TOO_LARGE') gate.limitHit(req, 'body');
  gate.logError(req, error, bridge.statusOfError(error), path, type);
  onError?.({ error, path, type, input, ctx, req });
}
