import { realpathSync } from 'node:fs';
import { CorbelError } from '@corbel/core';
import { trpcModuleOfRouter } from '@corbel/core/internal';
import { type AnyTRPCRouter, initTRPC } from '@trpc/server';

/** A one-procedure router built with the `@trpc/server` this package imports. */
const own = initTRPC.create();
const ownRouter = own.router({ probe: own.procedure.query(() => null) });

/**
 * Refuses a router built with another copy of `@trpc/server` than the server's
 * own. Two copies look fine at compile time, but tRPC recognises tracked
 * events by a module-private symbol, so the server would stream frames without
 * `id:` lines and every resume would silently start over. Both copies are
 * found the same way (see trpcModuleOfRouter); when either cannot be told,
 * nothing is refused.
 *
 * @example
 * await assertOneTrpc(router); // before listening
 */
export async function assertOneTrpc(router: AnyTRPCRouter): Promise<void> {
  const [theirs, ours] = await Promise.all([trpcModuleOfRouter(router), trpcModuleOfRouter(ownRouter)]);
  if (!theirs || !ours || real(theirs) === real(ours)) return;
  throw new CorbelError(
    'TRPC_MISMATCH',
    `two copies of @trpc/server: the router was built with ${real(theirs)} but @corbel/server uses ${real(ours)}; install one (npm ls @trpc/server shows where they come from)`,
  );
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
