import type {
  HandlerContract,
  HandlerImplementation,
  HandlerImplementations,
  HandlerPath,
  ReverseFrame,
  ReverseReply,
  ReverseResult,
} from '@corbel/core';
import { TRPCClientError } from '@trpc/client';
import { type CorbelSession, openSession, type SessionClient } from '../session.js';
import { createResultMemory } from './result-memory.js';

/** What serving handlers needs from a typed client: `session.*` and `reverse.*` of the server. */
export interface ReverseClient extends SessionClient<unknown> {
  reverse: {
    calls: {
      subscribe(
        input: { session: string; lastEventId?: string },
        opts: {
          onStarted?: (() => void) | undefined;
          onData: (value: { id: string; data: ReverseFrame }) => void;
          onError?: ((error: unknown) => void) | undefined;
          onComplete?: (() => void) | undefined;
        },
      ): { unsubscribe(): void };
    };
    reply: { mutate(input: ReverseReply): Promise<{ accepted: boolean }> };
  };
}

export interface ServeHandlersOptions<C extends HandlerContract> {
  /** The handler contract shared with the server. */
  handlers: C;
  /** Implementations to register now (more with `register` later). */
  implementations?: HandlerImplementations<C> | undefined;
  /** The session to serve on (e.g. the one the app already opened); default: a new one. */
  session?: CorbelSession<any> | undefined;
  /** Told about failures the endpoint recovers from by itself (a stream error, a reply not delivered). */
  onError?: ((error: unknown) => void) | undefined;
  /** Calls remembered at most for at-most-once execution (default 100,000). */
  memory?: number | undefined;
}

export interface HandlerEndpoint<C extends HandlerContract> {
  /** Resolves once the calls stream is live (calls made from then on reach this client). */
  readonly ready: Promise<void>;
  /**
   * This client's callback reference: its session id, to pass to a command
   * that calls back (the server checks it belongs to the caller). Undefined
   * until the session is open.
   */
  readonly ref: string | undefined;
  /** Registers (or replaces) one implementation; returns a function that removes it. */
  register<P extends HandlerPath<C>>(path: P, impl: HandlerImplementation<C[P]>): () => void;
  /** Handlers run, calls answered again from memory, handlers running now. */
  stats(): { ran: number; fromMemory: number; running: number };
  /** Stops the calls stream; handlers running are aborted. */
  close(): void;
}

/**
 * Serves typed handlers to the server over the client's own event link: calls
 * arrive on the session's `reverse.calls` stream (no port, no WebSocket) and
 * each answer goes back as the `reverse.reply` command with the client's usual
 * auth. Input and output are validated against the contract; a thrown error
 * reaches the server as HANDLER_FAILED. A call delivered again after a resume
 * is answered from memory, never run twice.
 *
 * @example
 * const endpoint = serveHandlers(client, {
 *   handlers: boardHandlers,
 *   implementations: { 'board.describe': () => ({ city: null, received: 0, startedAt }) },
 * });
 * await endpoint.ready;
 */
export function serveHandlers<C extends HandlerContract>(
  client: ReverseClient,
  opts: ServeHandlersOptions<C>,
): HandlerEndpoint<C> {
  const { handlers } = opts;
  const impls = new Map<string, HandlerImplementation<any>>(
    Object.entries(opts.implementations ?? {}).filter(([, f]) => typeof f === 'function') as [
      string,
      HandlerImplementation<any>,
    ][],
  );
  const memory = createResultMemory({ max: opts.memory });
  const running = new Map<string, AbortController>();
  const stats = { ran: 0, fromMemory: 0 };
  let session = opts.session;
  let closed = false;
  let current: { unsubscribe(): void } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const report = (error: unknown) => opts.onError?.(error);

  async function run(
    frame: Extract<ReverseFrame, { type: 'call' }>,
    signal: AbortSignal,
  ): Promise<ReverseResult> {
    const spec = Object.hasOwn(handlers, frame.path) ? handlers[frame.path] : undefined;
    const impl = impls.get(frame.path);
    if (!spec || !impl) {
      return { ok: false, error: { code: 'NO_HANDLER', message: `no handler registered for ${frame.path}` } };
    }
    const input = spec.input.safeParse(frame.input);
    if (!input.success) {
      return {
        ok: false,
        error: { code: 'INVALID_PAYLOAD', message: clip(`input invalid: ${input.error.message}`) },
      };
    }
    stats.ran++;
    try {
      const output = await impl(input.data, { callId: frame.callId, signal });
      const checked = spec.output.safeParse(output);
      if (!checked.success) {
        return {
          ok: false,
          error: { code: 'INVALID_PAYLOAD', message: clip(`output invalid: ${checked.error.message}`) },
        };
      }
      // The raw output: the server parses it with the same schema (transforms run once, there).
      return { ok: true, output };
    } catch (error) {
      return {
        ok: false,
        error: {
          code: signal.aborted ? 'CALL_CANCELLED' : 'HANDLER_FAILED',
          message: clip(error instanceof Error ? error.message : String(error)),
        },
      };
    }
  }

  async function send(sessionId: string, callId: string, until: number) {
    const entry = memory.get(callId);
    if (!entry) return;
    const result = await entry.result;
    if (running.get(callId)?.signal.aborted) return; // withdrawn by the server: nobody waits
    entry.reply = 'pending';
    for (let attempt = 0; !closed; attempt++) {
      try {
        await client.reverse.reply.mutate({ session: sessionId, callId, result });
        entry.reply = 'sent';
        return;
      } catch (error) {
        // A refusal (4xx) is final; a transport error or 5xx is worth retrying until the deadline.
        const status =
          error instanceof TRPCClientError ? (error.data as { httpStatus?: number })?.httpStatus : undefined;
        if ((status !== undefined && status < 500) || Date.now() > until) {
          entry.reply = 'failed';
          report(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
      }
    }
  }

  function onFrame(sessionId: string, frame: ReverseFrame) {
    if (frame.type === 'cancel') {
      running.get(frame.callId)?.abort();
      return;
    }
    if (frame.type !== 'call') return;
    const known = memory.get(frame.callId);
    if (known) {
      stats.fromMemory++;
      // Delivered again after a resume: the answer is resent only if sending it failed.
      if (known.reply === 'failed') void send(sessionId, frame.callId, frame.deadline);
      return;
    }
    const controller = new AbortController();
    running.set(frame.callId, controller);
    const result = run(frame, controller.signal);
    memory.set(frame.callId, { result, reply: 'pending', until: frame.deadline });
    void send(sessionId, frame.callId, frame.deadline).finally(() => running.delete(frame.callId));
  }

  function subscribe(sessionId: string) {
    current = client.reverse.calls.subscribe(
      { session: sessionId },
      {
        onStarted: () => markReady(),
        onData: ({ data }) => onFrame(sessionId, data),
        onError: (error) => {
          report(error);
          if (closed) return;
          // Gone from the server (NOT_FOUND): reopen gives this client a session again.
          const notFound =
            error instanceof TRPCClientError && (error.data as { code?: string })?.code === 'NOT_FOUND';
          retryTimer = setTimeout(() => void start(notFound), 1000);
        },
      },
    );
  }

  async function start(reopen: boolean) {
    if (closed) return;
    try {
      if (!session) session = await openSession(client);
      else if (reopen) await session.reopen();
      if (!closed) subscribe(session.id);
    } catch (error) {
      report(error);
      if (!closed) retryTimer = setTimeout(() => void start(true), 1000);
    }
  }
  void start(false);

  return {
    ready,
    get ref() {
      return session?.id;
    },
    register(path, impl) {
      impls.set(path, impl);
      return () => {
        if (impls.get(path) === impl) impls.delete(path);
      };
    },
    stats: () => ({ ...stats, running: running.size }),
    close() {
      closed = true;
      clearTimeout(retryTimer);
      current?.unsubscribe();
      for (const controller of running.values()) controller.abort();
    },
  };
}

function clip(text: string): string {
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}
