import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CorbelError } from '@corbel/core';
import { type AnyTRPCRouter, TRPCError } from '@trpc/server';
import { clientAddressReader } from './client-address.js';
import { createCors } from './cors.js';
import { createDrain } from './drain.js';
import { createHealth } from './health.js';
import { IdempotentCommands } from './idempotency/serve-idempotent.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { silentLogger } from './logger.js';
import { createCorbelMetrics } from './metrics.js';
import { createMetricsEndpoint } from './metrics-endpoint.js';
import { createNodeServer } from './node-server.js';
import { observedStreamHooks } from './observe-streams.js';
import { assertOneTrpc } from './one-trpc.js';
import { RequestGate } from './request-gate.js';
import { requestIdOf } from './request-id.js';
import { sendError } from './serve/error-response.js';
import { closeStreamOf, StreamRegistry } from './serve/event-stream.js';
import { createRpcHandler } from './serve/handle-request.js';
import { abortIfUnfinished } from './serve/request-abort.js';
import { bridgeRouter } from './serve/trpc-bridge.js';
import type { CorbelServer, CorbelServerOptions } from './server-options.js';

export type { CorbelServer, CorbelServerOptions, ListenOptions } from './server-options.js';

/**
 * Creates a Corbel server for a tRPC router: commands over HTTP(S), events
 * over SSE, authentication and authorization, limits, CORS, `/healthz`,
 * `/readyz`, `/metrics`, and a draining `close()`.
 *
 * @example
 * const server = createCorbelServer({ router: appRouter, authenticate: staticTokenAuth({ env: 'CORBEL_TOKEN' }) });
 * const { url } = await server.listen({ port: 0 });
 */
export function createCorbelServer<TRouter extends AnyTRPCRouter>(
  opts: CorbelServerOptions<TRouter>,
): CorbelServer {
  const basePath = normalizeBase(opts.basePath ?? '/rpc');
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    ...definedOnly({
      maxBodyBytes: opts.maxBodyBytes,
      maxBatchSize: opts.maxBatchSize,
      maxHeaderBytes: opts.maxHeaderBytes,
    }),
    ...definedOnly(opts.limits ?? {}),
  };
  const logger = opts.logger ?? silentLogger;
  const metrics = opts.metrics === false ? undefined : (opts.metrics ?? createCorbelMetrics());
  const metricsPath = opts.metricsPath === false ? undefined : (opts.metricsPath ?? '/metrics');
  const protectMetrics = opts.protectMetrics ?? opts.authenticate !== undefined;
  const cors = opts.cors ? createCors(opts.cors) : undefined;
  const bridge = bridgeRouter(opts.router, opts.decodeLimits);
  // Streams end (and clients resume) at the shorter of the router's and the server's limit.
  const maxDurations = [bridge.sse.maxDurationMs, limits.maxStreamDurationMs].filter((ms) => ms && ms > 0);
  bridge.sse.maxDurationMs = maxDurations.length ? Math.min(...(maxDurations as number[])) : undefined;
  const clientAddressOf = clientAddressReader(opts.trustProxy);
  const gate = new RequestGate({
    clientAddressOf,
    authenticate: opts.authenticate,
    authorize: opts.authorize,
    limits,
    metrics,
    logger,
    sharedLimits: opts.sharedLimits,
  });
  const streams = new StreamRegistry(
    bridge,
    opts.sseRetryMs ?? 1000,
    opts.sseStallTimeoutMs ?? 30_000,
    observedStreamHooks(gate, logger, metrics, opts.streamHooks),
  );
  const procedureLabel = (path: string) => (bridge.typeOf(path) ? path : 'unknown');
  const handleRpc = createRpcHandler({
    bridge,
    basePath,
    streams,
    gate,
    createContext: opts.createContext,
    maxBodyBytes: limits.maxBodyBytes,
    bodyTimeoutMs: limits.bodyTimeoutMs,
    maxBatchSize: limits.maxBatchSize,
    idempotency: opts.idempotency === false ? undefined : new IdempotentCommands(opts.idempotency, metrics),
    onError: opts.onError,
    onCommand: opts.onCommand,
    onCommandDone: metrics
      ? (_req, paths, status, ms) => {
          const code = String(status);
          for (const path of paths) metrics.command(procedureLabel(path), code, ms / 1000);
        }
      : undefined,
  });
  let inFlight = 0;
  // The one listener a request gets, one function for all of them (a closure
  // per request was memory per open stream): whatever ended the response,
  // give back what its request held.
  const onResponseClose = function (this: ServerResponse) {
    const req = this.req;
    inFlight--;
    gate.release(req);
    closeStreamOf(req);
    abortIfUnfinished(req, this);
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.on('close', onResponseClose);
    void handle(req, res);
  };
  // A bug in the serving path must not take the process down.
  const servingFailed = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    opts.onError?.({
      error: error instanceof Error ? (error as any) : new Error(String(error)),
      path: undefined,
      type: 'unknown',
      input: undefined,
      ctx: undefined,
      req,
    });
    if (!res.headersSent) {
      sendError(res, bridge, new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'internal error' }));
    } else res.destroy();
  };
  const { httpServer } = createNodeServer({
    limits,
    tls: opts.tls,
    gate,
    metrics,
    bridge,
    onRequest,
  });
  const drain = createDrain({
    httpServer,
    streams,
    inFlight: () => inFlight,
    drainTimeoutMs: opts.drainTimeoutMs,
  });

  /** A refusal before any procedure is looked at: tRPC's wire shape, an explicit status, the connection closed. */
  const refuse = (res: ServerResponse, status: number, error: TRPCError, headers = {}) => {
    sendError(res, bridge, error, { status, headers: { connection: 'close', ...headers } });
  };

  const health = createHealth({
    isDraining: () => drain.draining,
    store: opts.store,
    readiness: opts.readiness,
  });
  const metricsEndpoint = createMetricsEndpoint({
    metrics,
    path: metricsPath,
    protect: protectMetrics,
    gate,
    refuse,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Caught here rather than with a .catch per request (a closure and a promise each).
    try {
      // Every response carries x-request-id. The serving path writes it with its
      // status line (sendJson, the event stream); only headers set before that
      // (CORS, a fallback's own) go through setHeader, which makes Node keep a
      // header table for the life of the response: at 10,000 open streams that
      // table alone is several megabytes.
      const target = req.url ?? '/';
      // A character is at most 3 bytes of UTF-8: most URLs need no count.
      if (target.length * 3 > limits.maxUrlBytes && Buffer.byteLength(target) > limits.maxUrlBytes) {
        gate.limitHit(req, 'url');
        refuse(
          res,
          414,
          new CorbelError('BAD_REQUEST', `the request URL exceeds ${limits.maxUrlBytes} bytes`),
        );
        return;
      }
      if (req.rawHeaders.length / 2 > limits.maxHeaderCount) {
        gate.limitHit(req, 'header');
        refuse(
          res,
          431,
          new CorbelError('BAD_REQUEST', `the request has more than ${limits.maxHeaderCount} header fields`),
        );
        return;
      }
      let url: URL;
      try {
        url = parsedTarget(target);
      } catch {
        refuse(res, 400, new CorbelError('BAD_REQUEST', 'malformed request URL'));
        return;
      }
      if (cors) {
        res.setHeader('x-request-id', requestIdOf(req));
        const verdict = cors(req, res);
        if (verdict === 'preflight-done') return;
        if (verdict === 'refused') {
          refuse(
            res,
            403,
            new CorbelError('FORBIDDEN', 'this origin, method or header is not allowed (CORS)'),
          );
          return;
        }
      }
      const pathname = url.pathname;
      const answered = health.handle(res, pathname) || metricsEndpoint.handle(req, res, pathname);
      if (answered) return answered;
      if (drain.draining) {
        // Retryable, with the code clients and operators look for (a bare message before).
        refuse(
          res,
          503,
          new CorbelError('DRAINING', 'the server is shutting down; retry (on another instance)'),
          {
            'retry-after': 1,
          },
        );
        return;
      }
      if (await handleRpc(req, res, url)) return;
      if (opts.fallback) {
        res.setHeader('x-request-id', requestIdOf(req));
        // The app's own copy: parsed URLs are shared between requests.
        if (await opts.fallback(req, res, new URL(target, URL_BASE))) return;
      }
      sendError(
        res,
        bridge,
        new TRPCError({
          code: 'NOT_FOUND',
          message: `nothing at ${pathname.slice(0, 200)}; procedures are under ${basePath}/`,
        }),
      );
    } catch (error) {
      servingFailed(req, res, error);
    }
  }

  let address: { url: string; port: number } | undefined;

  const server: CorbelServer = {
    httpServer,
    get url() {
      if (!address) throw new Error('the server is not listening yet');
      return address.url;
    },
    get port() {
      if (!address) throw new Error('the server is not listening yet');
      return address.port;
    },
    get streamCount() {
      return streams.size;
    },
    get draining() {
      return drain.draining;
    },
    metrics,
    readiness: health.readiness,
    clientAddress: clientAddressOf,
    authFailed: (req) => gate.authFailed(req),
    async listen({ port = 0, host = '127.0.0.1' } = {}) {
      await assertOneTrpc(opts.router);
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const info = httpServer.address() as AddressInfo;
          const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
          address = { url: `${opts.tls ? 'https' : 'http'}://${shownHost}:${info.port}`, port: info.port };
          resolve(address);
        });
      });
    },
    close: drain.close,
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

const URL_BASE = 'http://corbel.invalid';
// Parsed request targets without a query, shared by the requests that name
// them: a command's target repeats (`/rpc/add`), and parsing it was a
// measurable share of a command. Bounded in entries and key length; the
// serving path only reads these URLs, never changes them.
const parsedTargets = new Map<string, URL>();
const MAX_PARSED_TARGETS = 512;
const MAX_SHARED_TARGET = 256;

function parsedTarget(target: string): URL {
  if (target.length > MAX_SHARED_TARGET || target.includes('?')) return new URL(target, URL_BASE);
  let url = parsedTargets.get(target);
  if (!url) {
    url = new URL(target, URL_BASE);
    if (parsedTargets.size >= MAX_PARSED_TARGETS) parsedTargets.clear();
    parsedTargets.set(target, url);
  }
  return url;
}

function normalizeBase(base: string): string {
  const trimmed = `/${base.replace(/^\/+|\/+$/g, '')}`;
  if (trimmed === '/')
    throw new RangeError('basePath must not be "/"; mount the router under a path such as /rpc');
  return trimmed;
}
