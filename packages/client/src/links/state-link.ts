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
  error?: Error | null;
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
            const result = envelope.result as { type?: string; state?: string; error?: Error | null };
            if (op.type === 'subscription' && result.type === 'state') {
              if (result.state === 'pending') {
                wasLive = true;
                onChange({ path: op.path, state: 'live' });
              } else if (result.state === 'connecting') {
                onChange({
                  path: op.path,
                  state: wasLive || result.error ? 'reconnecting' : 'connecting',
                  error: result.error,
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
