import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';

/** A subscription's connection, as the app sees it. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StateChange {
  /** The subscription's procedure path, e.g. "weather.readings". */
  path: string;
  state: ConnectionState;
  /** What caused a reconnect, when known. */
  error?: Error | null | undefined;
  /** The transport events arrive (or are about to arrive) over, when the client chose one. */
  transport?: 'sse' | 'long-poll' | undefined;
}

/**
 * EventSource reports a dropped connection as a bare event, which tRPC wraps
 * as "Unknown error"; say what the event says instead (its message or HTTP
 * status), or that the connection was lost.
 */
function readable(error: Error | null | undefined): Error | null | undefined {
  if (error?.message !== 'Unknown error') return error;
  const event = error.cause as { message?: unknown; code?: unknown } | undefined;
  const detail =
    typeof event?.message === 'string' && event.message
      ? event.message
      : typeof event?.code === 'number'
        ? `HTTP ${event.code}`
        : 'connection lost';
  return new Error(detail, { cause: error });
}

/**
 * Reports every subscription's connection state to one callback, whatever
 * style (callbacks or async iteration) the app consumes it with.
 */
export function stateLink<TRouter extends AnyTRPCRouter>(
  onChange: (change: StateChange) => void,
): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let wasLive = false;
        const sub = next(op).subscribe({
          next(envelope) {
            const result = envelope.result as {
              type?: string | undefined;
              state?: string | undefined;
              error?: Error | null | undefined;
              transport?: 'sse' | 'long-poll' | undefined;
            };
            if (op.type === 'subscription' && result.type === 'state') {
              // Said only by Corbel's transports (auto, long-poll): stock links leave it out.
              const transport = result.transport === undefined ? {} : { transport: result.transport };
              if (result.state === 'pending') {
                wasLive = true;
                onChange({ path: op.path, state: 'live', ...transport });
              } else if (result.state === 'connecting') {
                onChange({
                  path: op.path,
                  state: wasLive || result.error ? 'reconnecting' : 'connecting',
                  error: readable(result.error),
                  ...transport,
                });
              } else if (result.state === 'idle') {
                onChange({ path: op.path, state: 'closed' });
              }
            }
            observer.next(envelope);
          },
          error(err) {
            if (op.type === 'subscription') onChange({ path: op.path, state: 'closed', error: err });
            observer.error(err);
          },
          complete() {
            observer.complete();
          },
        });
        return () => sub.unsubscribe();
      });
}
