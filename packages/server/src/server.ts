import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { AnyTRPCRouter } from '@trpc/server';
import { type StreamHooks, StreamRegistry } from './serve/event-stream.js';
import { type CreateContextOptions, createRpcHandler, type OnErrorOptions } from './serve/handle-request.js';
import { sendJson } from './serve/respond.js';
import { bridgeRouter } from './serve/trpc-bridge.js';

export interface CorbelServerOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  /** Builds the tRPC context of each request (auth, sessions, …). */
  createContext?: (opts: CreateContextOptions) => unknown | Promise<unknown>;
  /** Where the router is mounted (default "/rpc"); checked as a real path prefix. */
  basePath?: string;
  /** Largest request body accepted, in bytes (default 1 MiB); larger gets 413. */
  maxBodyBytes?: number;
  /** Most calls in one batch (default 50). */
  maxBatchSize?: number;
  /** Largest request head, in bytes (default 16 KiB); larger gets 431. */
  maxHeaderBytes?: number;
  /** How long `close()` waits for in-flight commands before cutting them (default 5 s). */
  drainTimeoutMs?: number;
  /** The reconnect delay EventSource clients are told in the stream's `retry:` field (default 1 s). */
  sseRetryMs?: number;
  /** A stream whose client reads nothing for this long is disconnected (default 30 s). */
  sseStallTimeoutMs?: number;
  /** Called for every error a procedure or the protocol produces. */
  onError?: (opts: OnErrorOptions) => void;
  /** Called once per command request with its paths and HTTP status. */
  onCommand?: (paths: string[], status: number) => void;
  /** Stream lifecycle hooks (metrics, logs). */
  streamHooks?: StreamHooks;
  /**
   * Serves requests outside `basePath` (a web page, extra endpoints). Return
   * false to fall through to the 404.
   */
  fallback?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
}

export interface ListenOptions {
  port?: number;
  host?: string;
}

export interface CorbelServer extends AsyncDisposable {
  readonly httpServer: Server;
  /** The base URL once listening, e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly port: number;
  /** Open event streams. */
  readonly streamCount: number;
  readonly draining: boolean;
  listen(opts?: ListenOptions): Promise<{ url: string; port: number }>;
  /**
   * Drains and stops: refuses new requests (503), ends every event stream with
   * the retryable DRAINING error so clients reconnect, lets in-flight commands
   * finish within `drainTimeoutMs`, then closes every socket.
   */
  close(): Promise<void>;
}

/**
 * Creates a Corbel server for a tRPC router: commands over HTTP, events over
 * SSE, `/healthz`, body and batch limits, and a draining `close()`.
 *
 * @example
 * const server = createCorbelServer({ router: appRouter });
 * const { url } = await server.listen({ port: 0 });
 */
export function createCorbelServer<TRouter extends AnyTRPCRouter>(
  opts: CorbelServerOptions<TRouter>,
): CorbelServer {
  const basePath = normalizeBase(opts.basePath ?? '/rpc');
  const bridge = bridgeRouter(opts.router);
  const streams = new StreamRegistry(
    bridge,
    opts.sseRetryMs ?? 1000,
    opts.sseStallTimeoutMs ?? 30_000,
    opts.streamHooks,
  );
  const handleRpc = createRpcHandler({
    bridge,
    basePath,
    streams,
    createContext: opts.createContext,
    maxBodyBytes: opts.maxBodyBytes ?? 1024 * 1024,
    maxBatchSize: opts.maxBatchSize ?? 50,
    onError: opts.onError,
    onCommand: opts.onCommand,
  });
  let draining = false;
  let inFlight = 0;
  const sockets = new Set<Socket>();

  const httpServer = createServer(
    {
      maxHeaderSize: opts.maxHeaderBytes ?? 16 * 1024,
      // Slow clients cannot hold a socket while sending their request.
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      inFlight++;
      res.once('close', () => inFlight--);
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
        if (!res.headersSent) sendJson(res, 500, { error: { message: 'internal error' } });
        else res.destroy();
      });
    },
  );
  httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized heads and slow heads: answer and drop.
    if (!socket.writable) return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: { message: err.code ?? 'bad request' } });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://corbel.invalid');
    } catch {
      sendJson(res, 400, { error: { message: 'malformed request URL' } });
      return;
    }
    if (url.pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok', draining });
      return;
    }
    if (draining) {
      sendJson(
        res,
        503,
        { error: { message: 'server is shutting down' } },
        { connection: 'close', 'retry-after': 1 },
      );
      return;
    }
    if (await handleRpc(req, res, url)) return;
    if (opts.fallback && (await opts.fallback(req, res, url))) return;
    sendJson(res, 404, {
      error: { message: `nothing at ${url.pathname.slice(0, 200)}; procedures are under ${basePath}/` },
    });
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
    listen({ port = 0, host = '127.0.0.1' } = {}) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const info = httpServer.address() as AddressInfo;
          const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
          address = { url: `http://${shownHost}:${info.port}`, port: info.port };
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

function normalizeBase(base: string): string {
  const trimmed = `/${base.replace(/^\/+|\/+$/g, '')}`;
  if (trimmed === '/')
    throw new RangeError('basePath must not be "/"; mount the router under a path such as /rpc');
  return trimmed;
}
