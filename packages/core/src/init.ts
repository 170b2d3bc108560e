import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { corbelErrorFormatter } from './error-formatter.js';

export interface CorbelInitOptions {
  /** Keep-alive ping interval on event streams (default 10 s). */
  pingIntervalMs?: number | undefined;
  /** Clients reconnect after this long without any frame (default 25 s; must exceed the ping). */
  reconnectAfterInactivityMs?: number | undefined;
  /** Streams end after this long and the client reconnects transparently (default: never). */
  maxStreamDurationMs?: number | undefined;
  /** Include stacks in errors. Off unless NODE_ENV is "development" or "test". */
  isDev?: boolean | undefined;
}

/** tRPC's root object as `initCorbel` configures it: superjson, the Corbel error formatter, SSE settings. */
export type CorbelTRPC<TContext extends object> = ReturnType<typeof createRoot<TContext>>;

/**
 * `initTRPC` with Corbel's settings: superjson on the wire, the Corbel error
 * formatter, and SSE pings shorter than the client's inactivity timeout.
 *
 * @example
 * const t = initCorbel<{ identity: string | null }>();
 * export const router = t.router({ ping: t.procedure.query(() => 'pong') });
 */
export function initCorbel<TContext extends object = object>(
  opts: CorbelInitOptions = {},
): CorbelTRPC<TContext> {
  const pingIntervalMs = opts.pingIntervalMs ?? 10_000;
  const reconnectAfterInactivityMs = opts.reconnectAfterInactivityMs ?? 25_000;
  if (pingIntervalMs >= reconnectAfterInactivityMs) {
    throw new RangeError(
      `pingIntervalMs (${pingIntervalMs}) must be shorter than reconnectAfterInactivityMs (${reconnectAfterInactivityMs})`,
    );
  }
  const env = process.env.NODE_ENV;
  return createRoot<TContext>({
    pingIntervalMs,
    reconnectAfterInactivityMs,
    maxStreamDurationMs: opts.maxStreamDurationMs,
    isDev: opts.isDev ?? (env === 'development' || env === 'test'),
  });
}

function createRoot<TContext extends object>(opts: {
  pingIntervalMs: number;
  reconnectAfterInactivityMs: number;
  maxStreamDurationMs: number | undefined;
  isDev: boolean;
}) {
  return initTRPC.context<TContext>().create({
    transformer: superjson,
    errorFormatter: corbelErrorFormatter,
    isDev: opts.isDev,
    sse: {
      ping: { enabled: true, intervalMs: opts.pingIntervalMs },
      client: { reconnectAfterInactivityMs: opts.reconnectAfterInactivityMs },
      ...(opts.maxStreamDurationMs ? { maxDurationMs: opts.maxStreamDurationMs } : {}),
    },
  });
}
