import {
  type Channel,
  DELIVERY_POLICIES,
  type DeliveryPolicy,
  type DurableConsumers,
  defineChannel,
  type Hub,
  initCorbel,
} from '@corbel/core';
import { consumerNameSchema, createConsumerRouter } from '@corbel/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { type BoardEntry, boardEntrySchema } from './board-handlers.js';

/** A reading as stored and delivered. */
export const readingSchema = z.object({
  city: z.string().min(1).max(100),
  celsius: z.number().min(-100).max(100),
  at: z.date(),
});
export type Reading = z.output<typeof readingSchema>;

/** The channel every reading is published on. */
export const readingsChannel: Channel<typeof readingSchema> = defineChannel(
  'weather.readings',
  readingSchema,
);

/** What every weather procedure may know about its caller. */
export interface WeatherContext {
  /** Who is calling, when the station checks tokens; null when it runs open. */
  identity: string | null;
  /**
   * May see other callers (`session.list`): the bearer-token holder on a
   * station with a token, every caller on an open one; never a page cookie.
   */
  operator?: boolean;
}

/** The latest reading per city, kept beside the log. */
export interface LatestReadings {
  get(city: string): Reading | null;
  set(reading: Reading): void;
}

/**
 * The weather contract: `weather.report`, `weather.latest`, `weather.readings`,
 * `weather.boards` (see DESIGN.md — these names and shapes are a public interface).
 * `boards` asks the connected boards to describe themselves; without it the list is empty.
 */
export function createWeatherRouter(deps: {
  hub: Hub;
  latest: LatestReadings;
  boards?: () => Promise<BoardEntry[]>;
  /** Durable consumers (`consumer` on weather.readings, `consumer.ack`); without it both are refused. */
  consumers?: DurableConsumers;
}) {
  const { hub, latest } = deps;
  const t = initCorbel<WeatherContext>();
  // A station without a token runs open: every caller is then one tenant.
  const ownerOf = (ctx: WeatherContext) => ctx.identity ?? 'anonymous';
  const consumers = (): DurableConsumers => {
    if (deps.consumers) return deps.consumers;
    throw new TRPCError({ code: 'NOT_IMPLEMENTED', message: 'this station keeps no durable consumers' });
  };
  return t.router({
    consumer: createConsumerRouter<WeatherContext>({ consumers: deps.consumers, ownerOf }),
    weather: t.router({
      report: t.procedure
        .meta({ description: 'Report a temperature for a city; returns the id of the reading event.' })
        .input(
          z.object({
            city: z.string().min(1).max(100).describe('City name, 1-100 characters'),
            celsius: z.number().min(-100).max(100).describe('Temperature in °C, -100..100'),
          }),
        )
        .output(z.object({ id: z.string() }))
        .mutation(async ({ input }) => {
          const event = await hub.publish(readingsChannel, { ...input, at: new Date() });
          latest.set(event.payload);
          return { id: event.id };
        }),

      latest: t.procedure
        .meta({ description: 'The latest reading for a city, or null when it has none.' })
        .input(z.object({ city: z.string().min(1).max(100) }))
        .output(readingSchema.nullable())
        .query(({ input }) => latest.get(input.city)),

      readings: t.procedure
        .meta({
          description:
            'Every reading as it is reported, optionally for one city; resumable by id. With `consumer`, a durable consumer: the station keeps its position, readings are acknowledged with consumer.ack, and several subscribers under one name share them (per city, in order). `policy` chooses what to drop when the subscriber falls behind.',
        })
        .input(
          z.object({
            city: z.string().min(1).max(100).optional(),
            lastEventId: z.string().max(100).optional(),
            consumer: consumerNameSchema.optional(),
            policy: z
              .enum(DELIVERY_POLICIES as [DeliveryPolicy, ...DeliveryPolicy[]])
              .optional()
              .describe(
                'What to drop when this subscriber falls behind (default cut-and-resume; latest-per-key keeps the newest reading per city)',
              ),
          }),
        )
        .subscription(({ ctx, input, signal }) =>
          input.consumer !== undefined
            ? consumers().subscribe(readingsChannel, {
                owner: ownerOf(ctx),
                name: input.consumer,
                filter: input.city === undefined ? undefined : (r) => r.city === input.city,
                key: (r) => r.city,
                signal,
              })
            : hub.subscribe(readingsChannel, {
                after: input.lastEventId,
                filter: input.city === undefined ? undefined : (r) => r.city === input.city,
                signal,
                policy: input.policy,
                key: (r) => r.city,
              }),
        ),

      boards: t.procedure
        .meta({
          description:
            'Every connected board, asked over its own link (board.describe, 2 s timeout): its city filter, readings printed and start time, or why it did not answer.',
        })
        .output(z.array(boardEntrySchema))
        .query(() => deps.boards?.() ?? []),
    }),
  });
}

export type WeatherRouter = ReturnType<typeof createWeatherRouter>;
