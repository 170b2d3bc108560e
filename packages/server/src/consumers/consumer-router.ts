import { type DurableConsumers, initCorbel } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';

/** A durable consumer's name: 1-100 letters, digits and `_ . : -`. */
export const consumerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'a consumer name is 1-100 letters, digits and _ . : -');

/** Ids one `consumer.ack` may carry: clients batch up to this many. */
export const MAX_ACK_IDS = 500;

export interface ConsumerRouterOptions<Ctx extends object> {
  /** The service; without one, `ack` answers NOT_IMPLEMENTED (a contract export needs none). */
  consumers: DurableConsumers | undefined;
  /**
   * Who is calling: consumer names are scoped to this identity. Return null
   * to refuse (UNAUTHORIZED); a server running open can return a fixed name.
   */
  ownerOf(ctx: Ctx): string | null;
}

/**
 * The `consumer.*` procedures, to nest in an app router beside the channels
 * that accept a `consumer` input:
 * - `ack` (mutation) — `{ channel, consumer, ids }` → `{ acked }`: acknowledges
 *   deliveries (ids as the stream sent them, `<event id>~<delivery>`, or plain
 *   event ids); the consumer's stored position moves past every event
 *   acknowledged without a gap. Clients batch: one call carries every id
 *   acknowledged since the previous call was answered.
 *
 * @example
 * const router = t.router({ weather: weatherRouter, consumer: createConsumerRouter<WeatherContext>({ consumers, ownerOf: (ctx) => ctx.identity ?? 'anonymous' }) });
 */
export function createConsumerRouter<Ctx extends object>(opts: ConsumerRouterOptions<Ctx>) {
  const t = initCorbel<Ctx>();
  return t.router({
    ack: t.procedure
      .meta({
        description:
          'Acknowledge deliveries of a durable consumer (batched); its position moves past every event acknowledged without a gap.',
      })
      .input(
        z.object({
          channel: z.string().min(1).max(200),
          consumer: consumerNameSchema,
          ids: z.array(z.string().min(1).max(120)).min(1).max(MAX_ACK_IDS),
        }),
      )
      .output(z.object({ acked: z.number() }))
      .mutation(async ({ ctx, input }) => {
        const owner = opts.ownerOf(ctx as unknown as Ctx);
        if (owner === null) {
          throw new TRPCError({
            code: 'UNAUTHORIZED',
            message: 'durable consumers need an authenticated caller',
          });
        }
        if (!opts.consumers) {
          throw new TRPCError({ code: 'NOT_IMPLEMENTED', message: 'this server keeps no durable consumers' });
        }
        return { acked: await opts.consumers.ack(owner, input.consumer, input.channel, input.ids) };
      }),
  });
}
