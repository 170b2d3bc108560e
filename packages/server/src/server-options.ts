import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import type { EventLog, IdempotencyStore, SuperjsonDecodeLimits } from '@corbel/core';
import type { AnyTRPCRouter } from '@trpc/server';
import type { Authenticate } from './auth/authenticate.js';
import type { AuthorizeOption } from './authorize.js';
import type { CorsOptions } from './cors.js';
import type { IdempotencyOptions } from './idempotency/serve-idempotent.js';
import type { Limits } from './limits.js';
import type { CorbelLogger } from './logger.js';
import type { CorbelMetrics } from './metrics.js';
import type { StreamHooks } from './serve/event-stream.js';
import type { CreateContextOptions, OnErrorOptions } from './serve/types.js';
import type { SharedLimitStore } from './shared-limits.js';

export interface CorbelServerOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  /**
   * Builds the tRPC context of each request (auth, sessions, …): once per
   * request, a batch's calls sharing it, after authentication and before the
   * `authorize` rule, the same way for commands, streams and long polls.
   */
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
   * Counts `commandsPerSecond` and `maxStreamsPerIdentity` across every
   * instance sharing this store (`createRedisLimits` in `@corbel/store-redis`);
   * when it does not answer, each instance enforces its own limits and says so.
   */
  sharedLimits?: SharedLimitStore | undefined;
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
