import { type TRPC_ERROR_CODE_KEY, TRPCError } from '@trpc/server';

/**
 * Every condition Corbel itself reports. The table is the single source of
 * truth: the tRPC code (and so the HTTP status), whether a client should retry,
 * and the sentence proto-docs shows. `errors.test.ts` keeps proto-docs in step.
 */
export const CORBEL_ERROR_CODES = {
  INVALID_EVENT_ID: {
    trpc: 'BAD_REQUEST',
    retryable: false,
    doc: 'The resume id (lastEventId / Last-Event-ID) is not an event id of this service.',
  },
  HISTORY_GONE: {
    trpc: 'PRECONDITION_FAILED',
    retryable: false,
    doc: 'The resume id is older than the retained history (or from a log that no longer exists): resync, then subscribe without an id.',
  },
  INVALID_PAYLOAD: {
    trpc: 'BAD_REQUEST',
    retryable: false,
    doc: "An event payload did not match its channel's schema; nothing was stored.",
  },
  SLOW_CONSUMER: {
    trpc: 'SERVICE_UNAVAILABLE',
    retryable: true,
    doc: 'The subscriber fell behind past its queue bound and was cut off; reconnect with the last id to resume from the log.',
  },
  DRAINING: {
    trpc: 'SERVICE_UNAVAILABLE',
    retryable: true,
    doc: 'The server is shutting down; reconnect (to another instance if there is one) with the last id.',
  },
  CLOSED: {
    trpc: 'SERVICE_UNAVAILABLE',
    retryable: true,
    doc: 'The hub or store was closed while the call was in flight.',
  },
  STORE_UNAVAILABLE: {
    trpc: 'SERVICE_UNAVAILABLE',
    retryable: true,
    doc: 'The event store cannot be reached; nothing was stored. Retry later.',
  },
  STORE_CORRUPT: {
    trpc: 'INTERNAL_SERVER_ERROR',
    retryable: false,
    doc: 'The event store file is damaged; the server refuses to start on it.',
  },
  STORE_LOCKED: {
    trpc: 'INTERNAL_SERVER_ERROR',
    retryable: false,
    doc: 'The event store is in use by another process.',
  },
  STORE_UNSUPPORTED: {
    trpc: 'INTERNAL_SERVER_ERROR',
    retryable: false,
    doc: 'The store is set up in a way Corbel does not support (a Redis Cluster); the server refuses to start.',
  },
  TRPC_MISMATCH: {
    trpc: 'INTERNAL_SERVER_ERROR',
    retryable: false,
    doc: 'The router was built with another copy of @trpc/server than the server uses; the server refuses to start.',
  },
  UNAUTHENTICATED: {
    trpc: 'UNAUTHORIZED',
    retryable: false,
    doc: 'No valid credentials were presented.',
  },
  TOKEN_EXPIRED: {
    trpc: 'UNAUTHORIZED',
    retryable: true,
    doc: 'The token expired; reconnect with a fresh token.',
  },
  FORBIDDEN: {
    trpc: 'FORBIDDEN',
    retryable: false,
    doc: 'The identity is not allowed to do this.',
  },
  LIMIT_EXCEEDED: {
    trpc: 'TOO_MANY_REQUESTS',
    retryable: true,
    doc: 'A rate or connection limit was hit; retry after the time the server names.',
  },
  PAYLOAD_TOO_LARGE: {
    trpc: 'PAYLOAD_TOO_LARGE',
    retryable: false,
    doc: 'The request body is larger than the server accepts.',
  },
  BAD_REQUEST: {
    trpc: 'BAD_REQUEST',
    retryable: false,
    doc: 'The request is malformed (bad JSON, bad URL, wrong shape).',
  },
  INPUT_TOO_COMPLEX: {
    trpc: 'BAD_REQUEST',
    retryable: false,
    doc: 'Decoding the input would cost more than the server allows (superjson annotations, paths, Map/Set lookups, typed-array or BigInt sizes).',
  },
  TIMEOUT: {
    trpc: 'TIMEOUT',
    retryable: true,
    doc: 'A reverse call got no answer from the client within its timeoutMs (the client may still be connected but stuck).',
  },
  CLIENT_GONE: {
    trpc: 'SERVICE_UNAVAILABLE',
    retryable: false,
    doc: 'The client a reverse call was addressed to is not connected, or dropped and did not come back within the grace period.',
  },
  CALL_CANCELLED: {
    trpc: 'CLIENT_CLOSED_REQUEST',
    retryable: false,
    doc: "The caller aborted a reverse call (its AbortSignal); the client's handler was told through its signal.",
  },
  HANDLER_FAILED: {
    trpc: 'BAD_GATEWAY',
    retryable: false,
    doc: "The client's handler threw; the message is the handler's own.",
  },
  NO_HANDLER: {
    trpc: 'NOT_IMPLEMENTED',
    retryable: false,
    doc: 'The client has no handler registered under the called name.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    trpc: 'UNPROCESSABLE_CONTENT',
    retryable: false,
    doc: 'The Idempotency-Key was already used for this procedure with a different input; use a new key for a new call.',
  },
  IDEMPOTENCY_IN_FLIGHT: {
    trpc: 'CONFLICT',
    retryable: true,
    doc: 'A call with this Idempotency-Key is still running elsewhere and did not finish in time; retry with the same key.',
  },
  CONSUMER_ELSEWHERE: {
    trpc: 'CONFLICT',
    retryable: true,
    doc: "The durable consumer's group is coordinated by another instance on the shared store; reconnect (to that instance, or here once its claim lapses).",
  },
} as const satisfies Record<string, { trpc: TRPC_ERROR_CODE_KEY; retryable: boolean; doc: string }>;

/** The closed union of Corbel's own error codes. */
export type CorbelErrorCode = keyof typeof CORBEL_ERROR_CODES;

/**
 * Corbel's one error type. It is a `TRPCError`, so tRPC maps it to the right
 * JSON-RPC code and HTTP status everywhere; `corbelCode` and `retryable` ride to
 * the client in the error's `data` (see `corbelErrorFormatter`).
 *
 * @example
 * throw new CorbelError('HISTORY_GONE', 'event 7 is no longer retained');
 */
export class CorbelError extends TRPCError {
  readonly corbelCode: CorbelErrorCode;
  readonly retryable: boolean;

  constructor(code: CorbelErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super({ code: CORBEL_ERROR_CODES[code].trpc, message, cause: opts.cause });
    this.name = 'CorbelError';
    this.corbelCode = code;
    this.retryable = CORBEL_ERROR_CODES[code].retryable;
  }

  /**
   * Finds the CorbelError in a thrown value (itself, or the cause of a
   * TRPCError), or wraps anything else as `fallback`.
   *
   * @example
   * try { await hub.subscribe(readings, { after: lastEventId }); }
   * catch (e) { if (CorbelError.from(e).corbelCode === 'HISTORY_GONE') await resync(); }
   */
  static from(cause: unknown, fallback: CorbelErrorCode = 'CLOSED'): CorbelError {
    const found = CorbelError.find(cause);
    if (found) return found;
    const message = cause instanceof Error ? cause.message : String(cause);
    return new CorbelError(fallback, message, { cause });
  }

  /** The CorbelError in `cause` or its cause chain, if any. */
  static find(cause: unknown): CorbelError | undefined {
    let current: unknown = cause;
    for (let depth = 0; depth < 5 && current; depth++) {
      if (current instanceof CorbelError) return current;
      current = (current as { cause?: unknown }).cause;
    }
    return undefined;
  }
}

/** True when `code` is one of Corbel's codes. */
export function isCorbelErrorCode(code: unknown): code is CorbelErrorCode {
  return typeof code === 'string' && Object.hasOwn(CORBEL_ERROR_CODES, code);
}
