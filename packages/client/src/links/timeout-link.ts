import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';

/**
 * Aborts queries and mutations that take longer than `timeoutMs` (a caller's
 * own `signal` still works alongside). Subscriptions are not timed.
 */
export function timeoutLink<TRouter extends AnyTRPCRouter>(timeoutMs: number): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) => {
      if (op.type === 'subscription' || !(timeoutMs > 0)) return next(op);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = op.signal ? AbortSignal.any([op.signal, timeout]) : timeout;
      return next({ ...op, signal });
    };
}
