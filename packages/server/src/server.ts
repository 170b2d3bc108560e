import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { CorbelError, type EventLog, type IdempotencyStore, type SuperjsonDecodeLimits } from '@corbel/core';
import { type AnyTRPCRouter, TRPCError } from '@trpc/server';
import type { Authenticate } from './auth/authenticate.js';
import type { AuthorizeOption } from './authorize.js';
import { clientAddressReader } from './client-address.js';
import { type CorsOptions, createCors } from './cors.js';
import { type IdempotencyOptions, IdempotentCommands } from './idempotency/serve-idempotent.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { type CorbelLogger, silentLogger } from './logger.js';
import { type CorbelMetrics, createCorbelMetrics } from './metrics.js';
import { assertOneTrpc } from './one-trpc.js';
import { RequestGate } from './request-gate.js';
import { requestIdOf } from './request-id.js';
import { errorBody, sendError } from './serve/error-response.js';
import {
  closeStreamOf,
  type StreamEndReason,
  type StreamHooks,
  StreamRegistry,
} from './serve/event-stream.js';
import { createRpcHandler } from './serve/handle-request.js';
import { abortIfUnfinished } from './serve/request-abort.js';
import { sendJson } from './serve/respond.js';
import { bridgeRouter } from './serve/trpc-bridge.js';
import type { CreateContextOptions, OnErrorOptions } from './serve/types.js';

export interface CorbelServerOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  /** Builds the tRPC context of each request (auth, sessions, …). */
  createContext?: ((opts: CreateContextOptions) => unknown | Promise<unknown>) | undefined;
  /** Where the router is mounted (default "/rpc"); checked as a real path prefix. */
  basePath?: string | undefined;
  /** Largest request body accepted, in bytes (default 1 MiB); larger gets 413. */
  maxBodyBytes?: number | undefined;
  /** Most calls in one batch (default 50). */
  maxBatchSize?: number | undefined;
  /** Largest request head, in bytes (default 16 KiB); larger gets 431. */
  maxHeaderBytes?: number | undefined;
  /** How long `close()` waits for in-flight commands before cutting them (default 5 s). */
  drainTimeoutMs?: number | undefined;
  /** The reconnect delay EventSource clients are told in the stream's `retry:` field (default 1 s). */
  sseRetryMs?: number | undefined;
  /** A stream whose client reads nothing for this long is disconnected (default 30 s). */
  sseStallTimeoutMs?: number | undefined;
  /** Called for every error a procedure or the protocol produces. */
  onError?: ((opts: OnErrorOptions) => void) | undefined;
  /** Called once per command request with its paths and HTTP status. */
  onCommand?: ((paths: string[], status: number) => void) | undefined;
  /** Stream lifecycle hooks (metrics, logs). */
  streamHooks?: StreamHooks | undefined;
  /**
   * Serves requests outside `basePath` (a web page, extra endpoints). Return
   * false to fall through to the 404.
   */
  fallback?:
    | ((req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>)
    | undefined;
  /**
   * Checks every command request and every event-stream (re)connect: an
   * identity, or null for 401. See `staticTokenAuth` and `signedTokenAuth`.
   */
  authenticate?: Authenticate | undefined;
  /** Per-procedure (command or channel) rules that see the identity and the input; false means 403. */
  authorize?: AuthorizeOption | undefined;
  /** Limits (sizes, counts, rates, timeouts); see `DEFAULT_LIMITS` for the defaults. */
  limits?: Partial<Limits> | undefined;
  /**
   * What decoding one superjson input may cost (annotations, path lengths,
   * Map/Set lookups, typed-array and BigInt sizes); over it is a 400
   * INPUT_TOO_COMPLEX. See `DEFAULT_SUPERJSON_DECODE_LIMITS`.
   */
  decodeLimits?: Partial<SuperjsonDecodeLimits> | undefined;
  /**
   * Reverse proxies to believe, as addresses or CIDRs (e.g. `['127.0.0.1', '10.0.0.0/8']`; default
   * none). When the socket peer is one, the client address is read from `Forwarded` /
   * `X-Forwarded-For` (the right-most hop that is not a trusted proxy); it keys the limits of
   * unauthenticated callers and failed authentications, and the `remote` field of log lines.
   */
  trustProxy?: readonly string[] | undefined;
  /** Answer browsers from these origins (with real preflights); without it, no CORS headers at all. */
  cors?: CorsOptions | undefined;
  /** Serve HTTPS with this key and certificate (PEM), e.g. `{ key: readFileSync('key.pem'), cert: readFileSync('cert.pem') }`. */
  tls?:
    | (SecureContextOptions & { key: SecureContextOptions['key']; cert: SecureContextOptions['cert'] })
    | undefined;
  /** A pino (or pino-shaped) logger; the server is silent without one. */
  logger?: CorbelLogger | undefined;
  /**
   * Prometheus metrics: a `createCorbelMetrics()` object (pass its `hubHooks`
   * to your hub too), or false for none. Default: the server makes its own.
   */
  metrics?: CorbelMetrics | false | undefined;
  /** Where the metrics are served (default "/metrics"); false serves none (they stay readable from `server.metrics`). */
  metricsPath?: string | false | undefined;
  /** Require authentication on the metrics endpoint (default: true when `authenticate` is set). */
  protectMetrics?: boolean | undefined;
  /** The event log readiness checks ping (`hub.log`); without one, readiness only reflects draining. */
  store?: Pick<EventLog, 'ping'> | undefined;
  /** An extra readiness check: throw (or reject) to be not ready, with the message as the reason. */
  readiness?: (() => void | Promise<void>) | undefined;
  /**
   * Where `Idempotency-Key` records live: a store (`store.idempotency` of
   * SQLite, `createRedisIdempotency(log)`), or options with one; false
   * ignores the header. Default: in memory (this instance, this process).
   */
  idempotency?: IdempotencyStore | IdempotencyOptions | false | undefined;
}

export interface ListenOptions {
  port?: number | undefined;
  host?: string | undefined;
}

export interface CorbelServer extends AsyncDisposable {
  readonly httpServer: Server;
  /** The base URL once listening, e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly port: number;
  /** Open event streams. */
  readonly streamCount: number;
  readonly draining: boolean;
  /** The server's metrics, or undefined when disabled. */
  readonly metrics: CorbelMetrics | undefined;
  /** What /readyz answers: ready, or not with the reason. */
  readiness(): Promise<{ ready: boolean; reason?: string }>;
  /** The client address of a request: the socket peer, or the right-most untrusted hop behind a `trustProxy`. */
  clientAddress(req: IncomingMessage): string;
  /**
   * Counts a failed authentication made outside the router (a login form, a
   * token exchange) against its client's burst: 0 to answer it as usual, else
   * the seconds to put in a 429's Retry-After.
   */
  authFailed(req: IncomingMessage): number;
  listen(opts?: ListenOptions): Promise<{ url: string; port: number }>;
  /**
   * Drains and stops: refuses new requests (503), ends every event stream with
   * the retryable DRAINING error so clients reconnect, lets in-flight commands
   * finish within `drainTimeoutMs`, then closes every socket.
   */
  close(): Promise<void>;
}

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
    idempotency: opts.idempotency === false ? undefined : new IdempotentCommands(opts.idempotency),
    onError: opts.onError,
    onCommand: opts.onCommand,
    onCommandDone: metrics
      ? (_req, paths, status, ms) => {
          const code = String(status);
          for (const path of paths) metrics.command(procedureLabel(path), code, ms / 1000);
        }
      : undefined,
  });
  let draining = false;
  let inFlight = 0;
  const sockets = new Set<Socket>();

  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    // Slow clients cannot hold a socket while sending their request; the
    // check runs often enough for the timeouts to mean what they say.
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(250, Math.min(limits.headersTimeoutMs, 30_000) / 4),
  };
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
    handle(req, res).catch((error) => {
      // A bug in the serving path must not take the process down.
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
    });
  };
  const httpServer: Server = opts.tls
    ? (createHttpsServer({ ...serverOptions, ...opts.tls }, onRequest) as unknown as Server)
    : createServer(serverOptions, onRequest);
  // One more than the limit, so an over-long header list is seen and refused
  // instead of silently truncated.
  httpServer.maxHeadersCount = limits.maxHeaderCount + 1;
  httpServer.maxConnections = limits.maxConnections;
  httpServer.on('drop', (data?: { remoteAddress?: string }) =>
    gate.limitHit(undefined, 'connections', data?.remoteAddress),
  );
  httpServer.on('connection', (socket: Socket) => {
    sockets.add(socket);
    metrics?.connections.inc();
    socket.once('close', () => {
      sockets.delete(socket);
      metrics?.connections.dec();
    });
  });
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed requests, oversized heads and slow heads: answer and drop.
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    // No request was parsed: the socket's peer is all there is to name.
    if (status === 431) gate.limitHit(undefined, 'header', socket.remoteAddress);
    else if (status === 408) gate.limitHit(undefined, 'timeout', socket.remoteAddress);
    if (!socket.writable) return socket.destroy();
    const message = `${status === 431 ? 'request head too large' : status === 408 ? 'request head too slow' : 'malformed request'} (${err.code ?? 'bad request'})`;
    const { body } = errorBody(
      bridge,
      status === 408 ? new TRPCError({ code: 'TIMEOUT', message }) : new CorbelError('BAD_REQUEST', message),
      { status },
    );
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  /** A refusal before any procedure is looked at: tRPC's wire shape, an explicit status, the connection closed. */
  const refuse = (res: ServerResponse, status: number, error: TRPCError, headers = {}) => {
    sendError(res, bridge, error, { status, headers: { connection: 'close', ...headers } });
  };

  async function readiness(): Promise<{ ready: boolean; reason?: string }> {
    if (draining) return { ready: false, reason: 'draining' };
    try {
      await withTimeout(
        (async () => {
          await opts.store?.ping?.();
          await opts.readiness?.();
        })(),
        2000,
      );
    } catch (error) {
      return { ready: false, reason: `store unreachable: ${(error as Error)?.message ?? String(error)}` };
    }
    return { ready: true };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Every response carries x-request-id. The serving path writes it with its
    // status line (sendJson, the event stream); only headers set before that
    // (CORS, a fallback's own) go through setHeader, which makes Node keep a
    // header table for the life of the response: at 10,000 open streams that
    // table alone is several megabytes.
    const target = req.url ?? '/';
    if (Buffer.byteLength(target) > limits.maxUrlBytes) {
      gate.limitHit(req, 'url');
      refuse(res, 414, new CorbelError('BAD_REQUEST', `the request URL exceeds ${limits.maxUrlBytes} bytes`));
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
        refuse(res, 403, new CorbelError('FORBIDDEN', 'this origin, method or header is not allowed (CORS)'));
        return;
      }
    }
    if (url.pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok', draining }, { 'cache-control': 'no-store' });
      return;
    }
    if (url.pathname === '/readyz') {
      const state = await readiness();
      sendJson(
        res,
        state.ready ? 200 : 503,
        state.ready ? { status: 'ready' } : { status: 'not-ready', reason: state.reason },
        { 'cache-control': 'no-store' },
      );
      return;
    }
    if (metrics && metricsPath && url.pathname === metricsPath && req.method === 'GET') {
      if (protectMetrics) {
        try {
          await gate.identify(req, res);
        } catch (error) {
          refuse(res, 401, CorbelError.from(error, 'UNAUTHENTICATED'));
          return;
        }
      }
      const { contentType, text } = await metrics.render();
      res
        .writeHead(200, {
          'content-type': contentType,
          'cache-control': 'no-store',
          'x-request-id': requestIdOf(req),
        })
        .end(text);
      return;
    }
    if (draining) {
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
        message: `nothing at ${url.pathname.slice(0, 200)}; procedures are under ${basePath}/`,
      }),
    );
  }

  let address: { url: string; port: number } | undefined;
  let closing: Promise<void> | undefined;

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
      return draining;
    },
    metrics,
    readiness,
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
    close() {
      closing ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => {
          if (!httpServer.listening) return resolve();
          httpServer.close(() => resolve());
        });
        await streams.drain();
        httpServer.closeIdleConnections();
        const deadline = Date.now() + (opts.drainTimeoutMs ?? 5000);
        while (inFlight > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          httpServer.closeIdleConnections();
        }
        httpServer.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

/** Stream hooks that count, log, then call the app's own hooks. */
function observedStreamHooks(
  gate: RequestGate,
  logger: CorbelLogger,
  metrics: CorbelMetrics | undefined,
  user: StreamHooks = {},
): StreamHooks {
  // The stream itself counts its events and knows when it opened (info.events, info.openedAt).
  return {
    onOpen(info) {
      metrics?.streams.inc({ procedure: info.path });
      logger.info(
        {
          reqId: requestIdOf(info.req),
          remote: gate.remoteOf(info.req),
          identity: gate.admissionOf(info.req)?.identity?.id,
          path: info.path,
          resume: info.req.headers['last-event-id'] !== undefined || undefined,
        },
        'stream open',
      );
      user.onOpen?.(info);
    },
    onFrames(info, events) {
      metrics?.framesWritten(info.path, events);
      user.onFrames?.(info, events);
    },
    onClose(info, reason, error) {
      const why = closeReason(reason, error);
      if (metrics) {
        metrics.streams.dec({ procedure: info.path });
        metrics.streamCloses.inc({ procedure: info.path, reason: why });
      }
      logger.info(
        {
          reqId: requestIdOf(info.req),
          remote: gate.remoteOf(info.req),
          identity: gate.admissionOf(info.req)?.identity?.id,
          path: info.path,
          reason: why,
          events: info.events,
          durationMs: info.openedAt === undefined ? undefined : Date.now() - info.openedAt,
          code: error?.code,
        },
        'stream close',
      );
      user.onClose?.(info, reason, error);
    },
  };
}

/** The reason an operator reads: the Corbel code behind an error end when there is one. */
function closeReason(reason: StreamEndReason, error: { code?: string } | undefined): string {
  if (reason !== 'error') return reason;
  const corbel = error ? CorbelError.find(error) : undefined;
  switch (corbel?.corbelCode) {
    case 'DRAINING':
      return 'drained';
    case 'TOKEN_EXPIRED':
      return 'auth-expired';
    case 'SLOW_CONSUMER':
      return 'slow-consumer';
    case 'HISTORY_GONE':
      return 'history-gone';
    default:
      return 'error';
  }
}

function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
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
