/**
 * The reverse-call bench server, in its own process: sessions, `reverse.*`,
 * a forward command `bench.echo`, and two commands that make reverse calls
 * and time them here, where they start and end (`bench.reverse`, `bench.fanout`).
 * Prints `listening on <url>`.
 */
import {
  createHub,
  createMemoryLog,
  createMemorySessions,
  defineHandler,
  defineHandlers,
  initCorbel,
  isSessionId,
} from '@corbel/core';
import {
  createCorbelServer,
  createReverseRouter,
  createReverseService,
  createSessionRouter,
  createSessionService,
} from '@corbel/server';
import { z } from 'zod';
import { BENCH_LIMITS } from '../corbel-limits.js';

/** The handler every bench client serves. */
export const benchHandlers = defineHandlers({
  'bench.echo': defineHandler({ input: z.object({ n: z.number() }), output: z.object({ n: z.number() }) }),
});

function createReverseBenchRouter() {
  const hub = createHub({ log: createMemoryLog({ retention: { maxCount: 100_000 } }) });
  const registry = createMemorySessions();
  const reverse = createReverseService({
    hub,
    registry,
    handlers: benchHandlers,
    maxPendingPerClient: 100_000,
  });
  const sessions = createSessionService({ hub, registry, message: z.object({}) });
  const t = initCorbel();
  const ownerOf = () => 'bench';
  return t.router({
    session: createSessionRouter({ service: sessions, ownerOf }),
    reverse: createReverseRouter({ service: reverse, ownerOf }),
    bench: t.router({
      echo: t.procedure
        .input(z.object({ n: z.number() }))
        .output(z.object({ n: z.number() }))
        .mutation(({ input }) => input),
      /** `n` calls to one client, `concurrency` in flight; latencies in ms (sequential when concurrency is 1). */
      reverse: t.procedure
        .input(
          z.object({
            session: z.string().refine(isSessionId),
            n: z.number().int().max(100_000),
            concurrency: z.number().int().min(1),
          }),
        )
        .mutation(async ({ input }) => {
          const handle = reverse.to(input.session);
          const latencies: number[] = [];
          let next = 0;
          const started = performance.now();
          const worker = async () => {
            while (next < input.n) {
              const n = next++;
              const t0 = performance.now();
              await handle.call('bench.echo', { n }, { timeoutMs: 60_000 });
              latencies.push(performance.now() - t0);
            }
          };
          await Promise.all(Array.from({ length: input.concurrency }, worker));
          return { latencies, totalMs: performance.now() - started };
        }),
      /** One call to every connected client; how long until all settled. */
      fanout: t.procedure.mutation(async () => {
        const started = performance.now();
        const results = await reverse.callAll(
          'bench.echo',
          { n: 1 },
          { timeoutMs: 30_000, concurrency: 1024 },
        );
        return {
          ms: performance.now() - started,
          ok: results.filter((r) => r.status === 'fulfilled').length,
          failed: results.filter((r) => r.status === 'rejected').length,
        };
      }),
    }),
  });
}
export type ReverseBenchRouter = ReturnType<typeof createReverseBenchRouter>;

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = createCorbelServer({ router: createReverseBenchRouter(), limits: BENCH_LIMITS });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`listening on ${url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
