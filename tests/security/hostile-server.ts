/**
 * The server under attack in the hostile-input suite, in its own process so
 * its memory is its own: the weather contract on the SQLite log, driven over
 * IPC for what the suite checks from the inside (memory, hub state, the
 * stored events, publishing bursts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createHub } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { createSqliteLog } from '@corbel/store-sqlite';
import superjson from 'superjson';
import { loadLatestReadings } from '../../apps/weather/src/latest-readings.js';
import { createWeatherRouter, readingsChannel } from '../../apps/weather/src/router.js';

setFlagsFromString('--expose_gc');
const gc: () => void = runInNewContext('gc');

export type HostileOp =
  | { op: 'memory' }
  | { op: 'state' }
  | { op: 'read' }
  | { op: 'publish'; count: number; city: string }
  | { op: 'close' };

const dataDir = process.env.HOSTILE_DATA_DIR!;
const seeded = Number(process.env.HOSTILE_SEEDED ?? 0);
const hub = createHub({ log: createSqliteLog({ dataDir }), maxQueue: 256 });
const closes: string[] = [];
const server = createCorbelServer({
  router: createWeatherRouter({ hub, latest: await loadLatestReadings(hub) }),
  createContext: () => ({ identity: null }),
  store: hub.log,
  sseStallTimeoutMs: 1000,
  limits: {
    headersTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    // Everything comes from one address: let the inputs reach the parsers
    // instead of the rate limiter (limits.test.ts covers that).
    commandsPerSecond: 0,
    maxInFlightPerIdentity: 10_000,
    maxStreamsPerIdentity: 10_000,
  },
  streamHooks: { onClose: (_i, reason, error) => closes.push((error as any)?.corbelCode ?? reason) },
});
const { url } = await server.listen({ port: 0 });

// Stored events with awkward but valid payloads: unicode, quotes, extremes.
const cities = ['Oslo', 'Zürich', '東京', 'São Paulo', 'a'.repeat(100), '"quoted"\\', '🌧️ Rain'];
for (let i = 0; i < seeded; i++) {
  await hub.publish(readingsChannel, {
    city: cities[i % cities.length]!,
    celsius: [-100, 100, 0, -0.5, 36.6, 1e-9][i % 6]!,
    at: new Date(1_700_000_000_000 + i),
  });
}

async function readAll(): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await hub.log.read(readingsChannel.name, { after, limit: 500 });
    for (const e of page) out.push(superjson.stringify(e));
    if (page.length < 500) return out;
    after = page.at(-1)!.id;
  }
}

async function run(msg: HostileOp): Promise<unknown> {
  switch (msg.op) {
    case 'memory':
      gc();
      return process.memoryUsage();
    case 'state':
      return {
        subscribers: hub.stats().subscribers,
        streams: server.streamCount,
        connections: await new Promise<number>((r) => server.httpServer.getConnections((_e, n) => r(n))),
        closes,
      };
    case 'read':
      return readAll();
    case 'publish':
      await Promise.all(
        Array.from({ length: msg.count }, () =>
          hub.publish(readingsChannel, { city: msg.city, celsius: 1, at: new Date() }),
        ),
      );
      return msg.count;
    case 'close':
      await server.close();
      await hub.close();
      return true;
  }
}

process.on('message', (msg: HostileOp & { id: number }) => {
  run(msg).then(
    (result) => process.send!({ id: msg.id, result }, () => msg.op === 'close' && process.exit(0)),
    (error) => process.send!({ id: msg.id, error: String(error) }),
  );
});
process.send!({ url });
