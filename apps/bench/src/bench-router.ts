import { defineChannel, type Hub, initCorbel } from '@corbel/core';
import { z } from 'zod';

/** The command every contender serves: a zod-validated addition. */
export const addInput = z.object({ a: z.number(), b: z.number() });
export const addOutput = z.object({ sum: z.number() });

/** A ~200-byte event, with the publish time (`sentAt`, ms since the epoch) for latency. */
export const eventSchema = z.object({
  seq: z.number().int(),
  sentAt: z.number(),
  city: z.string(),
  celsius: z.number(),
  at: z.date(),
  note: z.string(),
});
export type BenchEvent = z.output<typeof eventSchema>;

export const benchChannel = defineChannel('bench.events', eventSchema);

const NOTE = 'partly cloudy, light wind from the south-west, visibility good';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The event published as number `seq`. */
export function benchEvent(seq: number): BenchEvent {
  return { seq, sentAt: nowMs(), city: 'Oslo', celsius: -3.5, at: new Date(), note: NOTE };
}

/**
 * The router Corbel and stock tRPC both serve in the benchmark: the same
 * procedures, the same zod validation, the same superjson transformer; only
 * the serving path differs.
 *
 * @example
 * const router = createBenchRouter(createHub());
 */
export function createBenchRouter(hub: Hub) {
  const t = initCorbel({ isDev: false });
  return t.router({
    add: t.procedure
      .input(addInput)
      .output(addOutput)
      .mutation(({ input }) => ({ sum: input.a + input.b })),
    events: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }).optional())
      .subscription(({ input, signal }) =>
        hub.subscribe(benchChannel, { after: input?.lastEventId, signal }),
      ),
  });
}

export type BenchRouter = ReturnType<typeof createBenchRouter>;
