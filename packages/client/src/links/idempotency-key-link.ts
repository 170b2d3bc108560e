import type { TRPCLink } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';

/** The context field a mutation's idempotency key rides in (a caller may set its own). */
export const IDEMPOTENCY_CONTEXT_KEY = 'idempotencyKey';

/**
 * Set beside a key this link made: a fresh UUID, unique and comma-free, so
 * the call may share a batch with others (one key per call, protocol.md
 * §3.3). A caller's own key goes alone, as it always did: it might hold a
 * comma, or be the same as another call's in the same batch.
 */
const MADE_CONTEXT_KEY = 'idempotencyKeyMade';

/** The idempotency key of an operation, if it has one. */
export function idempotencyKeyOf(op: { context?: Record<string, unknown> | undefined }): string | undefined {
  const key = op.context?.[IDEMPOTENCY_CONTEXT_KEY];
  return typeof key === 'string' ? key : undefined;
}

/** Whether the operation's key was made by `idempotencyKeyLink` (and so may be batched). */
export function madeIdempotencyKey(op: { context?: Record<string, unknown> | undefined }): boolean {
  return op.context?.[MADE_CONTEXT_KEY] === true && idempotencyKeyOf(op) !== undefined;
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
        context: {
          ...op.context,
          [IDEMPOTENCY_CONTEXT_KEY]: globalThis.crypto.randomUUID(),
          [MADE_CONTEXT_KEY]: true,
        },
      });
    };
}
