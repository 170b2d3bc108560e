// The shared contract, written from the README's API only: both processes
// import it (the client only its type).
import { createHub, defineChannel, type Hub, initCorbel } from '@corbel/core';
import { z } from 'zod';

export const noteSchema = z.object({ text: z.string().min(1).max(200), at: z.date() });
export const notes = defineChannel('notes.posted', noteSchema);

export function createRouter(hub: Hub = createHub()) {
  const t = initCorbel();
  return t.router({
    notes: t.router({
      post: t.procedure
        .input(z.object({ text: z.string().min(1).max(200) }))
        .mutation(async ({ input }) => ({ id: (await hub.publish(notes, { ...input, at: new Date() })).id })),
      feed: t.procedure
        .input(z.object({ lastEventId: z.string().optional() }))
        .subscription(({ input, signal }) => hub.subscribe(notes, { after: input.lastEventId, signal })),
    }),
  });
}

export type AppRouter = ReturnType<typeof createRouter>;
