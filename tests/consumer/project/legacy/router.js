// A router built with this folder's own @trpc/server (a second copy, another
// version), as a workspace that pins its own tRPC would have.
import { initTRPC } from '@trpc/server';

const t = initTRPC.create();
export const router = t.router({ ping: t.procedure.query(() => 'pong') });
