// The contract both sides share: the server builds its router from
// createAppRouter, clients import only `type AppRouter` (no server code at run
// time). Change it here and the compiler shows every caller that must follow.
import { type Channel, defineChannel, type Hub, initCorbel } from '@corbel/core';
import { z } from 'zod';

/** A message as stored in the log and delivered to every follower. */
export const messageSchema = z.object({
  text: z.string().min(1).max(200),
  at: z.date(),
});
export type Message = z.output<typeof messageSchema>;

/** The channel every sent message is published on; its events are kept in the log. */
export const messagesPosted: Channel<typeof messageSchema> = defineChannel('messages.posted', messageSchema);

/** What a procedure knows about its caller: who it is, when the server checks tokens. */
export interface AppContext {
  identity: string | null;
}

/**
 * The service's procedures: `messages.send`, `messages.latest`, `messages.feed`.
 *
 * @example
 * const router = createAppRouter({ hub: createHub({ log }) });
 * createCorbelServer({ router });
 */
export function createAppRouter(deps: { hub: Hub }) {
  const { hub } = deps;
  const t = initCorbel<AppContext>();
  // The last message sent through this server since it started.
  let latest: Message | null = null;
  return t.router({
    messages: t.router({
      send: t.procedure
        .meta({ description: 'Send a message to every follower; returns the id of its event.' })
        .input(z.object({ text: z.string().min(1).max(200).describe('The message, 1-200 characters') }))
        .output(z.object({ id: z.string() }))
        .mutation(async ({ input }) => {
          const event = await hub.publish(messagesPosted, { text: input.text, at: new Date() });
          latest = event.payload;
          return { id: event.id };
        }),

      latest: t.procedure
        .meta({ description: 'The last message sent, or null before the first one.' })
        .input(z.object({}))
        .output(messageSchema.nullable())
        .query(() => latest),

      feed: t.procedure
        .meta({ description: 'Every message as it is sent; pass lastEventId to resume after it.' })
        .input(z.object({ lastEventId: z.string().max(100).optional() }))
        .subscription(({ input, signal }) =>
          hub.subscribe(messagesPosted, { after: input.lastEventId, signal }),
        ),
    }),
  });
}

/** The router's type: all a client needs to call the service with types. */
export type AppRouter = ReturnType<typeof createAppRouter>;
