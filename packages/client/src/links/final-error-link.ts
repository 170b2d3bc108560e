import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { Unsubscribable } from '@trpc/server/observable';
import { observable } from '@trpc/server/observable';
import { retryableOf } from '../errors.js';

/**
 * Wraps tRPC's event-stream link so that a server error the server calls
 * final ends the subscription. tRPC reconnects by itself after any error
 * frame (or refusal) whose JSON-RPC code is -32603, which is every 5xx: a
 * 500 the server marks `retryable: false` (a procedure that threw, a damaged
 * store) was reconnected forever, never reaching the retry policy. Here such
 * an error, reported as "connecting" with that error, is raised instead, and
 * the retry link above decides by the server's `retryable` (retry-policy.ts);
 * retryable ones (DRAINING, SLOW_CONSUMER, …) still reconnect and resume.
 *
 * @example
 * finalErrorLink(httpSubscriptionLink({ url, transformer: superjson, EventSource }))
 */
export function finalErrorLink<TRouter extends AnyTRPCRouter>(sse: TRPCLink<TRouter>): TRPCLink<TRouter> {
  return (runtime) => {
    const link = sse(runtime);
    return (opts) =>
      observable((observer) => {
        let ended = false;
        let sub: Unsubscribable | undefined;
        sub = link(opts).subscribe({
          next(value) {
            if (ended) return;
            const result = value.result as { type?: string; state?: string; error?: unknown };
            if (
              result.type === 'state' &&
              result.state === 'connecting' &&
              retryableOf(result.error) === false
            ) {
              ended = true;
              // Closes the EventSource before the reconnect it has scheduled.
              sub?.unsubscribe();
              observer.error(result.error as never);
              return;
            }
            observer.next(value);
          },
          error(error) {
            if (!ended) observer.error(error);
          },
          complete() {
            if (!ended) observer.complete();
          },
        });
        if (ended) sub.unsubscribe();
        return () => {
          ended = true;
          sub?.unsubscribe();
        };
      });
  };
}
