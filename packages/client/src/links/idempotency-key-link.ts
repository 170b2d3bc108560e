import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';

/** The context field a mutation's idempotency key rides in (a caller may set its own). */
export const IDEMPOTENCY_CONTEXT_KEY = 'idempotencyKey';

/** The idempotency key of an operation, if it has one. */
export function idempotencyKeyOf(op: { context?: Record<string, unknown> | undefined }): string | undefined {
  const key = op.context?.[IDEMPOTENCY_CONTEXT_KEY];
  return typeof key === 'string' ? key : undefined;
}

/**
 * Gives every mutation one idempotency key for its whole life: the key is
 * made once per logical call, before any attempt, so every retry and every
 * failover of that call carries the same one. A key the caller passed in
 * `context.idempotencyKey` is kept (e.g. one saved to retry after a restart).
 *
 * @example
 * createTRPCClient({ links: [idempotencyKeyLink(), httpLink({ url })] });
 */
export function idempotencyKeyLink<TRouter extends AnyTRPCRouter>(): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) => {
      if (op.type !== 'mutation' || idempotencyKeyOf(op) !== undefined) return next(op);
      return next({
        ...op,
        context: { ...op.context, [IDEMPOTENCY_CONTEXT_KEY]: globalThis.crypto.randomUUID() },
      });
    };
}
