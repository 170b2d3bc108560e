/**
 * A Corbel server with small per-identity limits shared through Redis, for
 * tests/redis/shared-limits.test.ts: `ping` (a query that never touches
 * Redis), `ticks` (a subscription that stays open), limits of 3 streams and
 * a command per 5 s with a burst of 4 per identity, a 3 s stream lease. Log
 * lines go to stdout as JSON.
 */
import { parseArgs } from 'node:util';
import { createHub, defineChannel, initCorbel } from '@corbel/core';
import { type CorbelLogger, createCorbelMetrics, createCorbelServer } from '@corbel/server';
import { createRedisLimits, openRedisStore } from '@corbel/store-redis';
import { z } from 'zod';

const { values } = parseArgs({
  options: { redis: { type: 'string' }, port: { type: 'string', default: '0' } },
});
const store = await openRedisStore({ url: values.redis!, keyPrefix: 'limits-test:' });
const line =
  (level: string): CorbelLogger['info'] =>
  (obj, msg) =>
    console.log(JSON.stringify({ level, msg, ...obj }));
const logger: CorbelLogger = {
  debug: () => {},
  info: line('info'),
  warn: line('warn'),
  error: line('error'),
};
const metrics = createCorbelMetrics({ processMetrics: false });
const hub = createHub({ log: store.log, hooks: metrics.hubHooks });
const ticks = defineChannel('ticks', z.number());
const t = initCorbel();
const router = t.router({
  ping: t.procedure.query(() => 'pong'),
  ticks: t.procedure.subscription(({ signal }) => hub.subscribe(ticks, { signal })),
});
const sharedLimits = createRedisLimits(store.log, { leaseMs: 3000 });
const server = createCorbelServer({
  router,
  store: hub.log,
  metrics,
  logger,
  limits: { maxStreamsPerIdentity: 3, commandsPerSecond: 0.2, commandBurst: 4 },
  sharedLimits,
});
const { url } = await server.listen({ port: Number(values.port), host: '127.0.0.1' });
console.log(`listening on ${url}`);
process.on('SIGTERM', () => {
  void server
    .close()
    .then(() => sharedLimits.close())
    .then(() => hub.close())
    .finally(() => process.exit(0));
});
