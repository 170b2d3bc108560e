/**
 * The long-poll bench's server process: Corbel (createCorbelServer, the bench
 * router, hub.subscribe) publishing `bench.events` from this process on
 * command. The same server answers event streams and long polls; only the
 * subscribers' transport differs between the two runs.
 */
import { createHub } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { atRate } from '../at-rate.js';
import { benchChannel, benchEvent, createBenchRouter } from '../bench-router.js';
import { BENCH_LIMITS } from '../corbel-limits.js';
import { emit, serveIpc } from '../ipc.js';

const hub = createHub();
const server = createCorbelServer({ router: createBenchRouter(hub), limits: BENCH_LIMITS });
const { url } = await server.listen({ port: 0, host: '127.0.0.1' });

serveIpc({
  /** Live hub subscribers (event streams open, long polls waiting). */
  subscribers: () => hub.stats().subscribers,
  /** Publishes at `perSec` for `ms`; answers how many and over how long. */
  publish: async ({ perSec, ms }: { perSec: number; ms: number }) => {
    const started = performance.now();
    let seq = 0;
    const published = await atRate(
      perSec,
      () => hub.publish(benchChannel, benchEvent(seq++)),
      () => performance.now() - started < ms,
    );
    return { published, seconds: (performance.now() - started) / 1000 };
  },
});
process.once('SIGTERM', () => {
  void server.close().then(() => hub.close().then(() => process.exit(0)));
});
emit('ready', { url });
