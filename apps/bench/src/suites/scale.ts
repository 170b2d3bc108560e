import { startChild } from '../child.js';
import type { BenchMode } from '../modes.js';

export interface ScaleResult {
  /** corbel, or raw (node:http SSE, the same events) as the machine's reference. */
  contender: 'corbel' | 'raw';
  subscribers: number;
  connected: number;
  connectMs: number;
  perSec: number;
  durationMs: number;
  /** Events published; fewer than perSec × duration when the server could not keep the pace. */
  published: number;
  expected: number;
  received: number;
  /** Every subscriber received every event. */
  allDelivered: boolean;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssKbPerSubscriber: number;
  serverRssMb: number;
  /** Server CPU time while publishing, per delivery. */
  cpuUsPerDelivery: number;
  dropped: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The scale check: one Corbel server process (the station's serving path: the
 * hub, createCorbelServer, SSE) holds `subscribers` streams from a client
 * process and publishes `perSec` events a second to all of them.
 */
export async function runScale(
  mode: BenchMode,
  progress: (line: string) => void,
  contender: 'corbel' | 'raw' = 'corbel',
  opts = mode.scale ?? { subscribers: 10_000, perSec: 10, durationMs: 10_000 },
): Promise<ScaleResult> {
  const { child: server, ready } = await startChild('./servers/fanout-server.ts', ['--kind', contender], {
    profile: contender === 'corbel',
  });
  const { child: client } = await startChild('./clients/subscriber-client.ts', []);
  try {
    await server.call('gc');
    const idle = await server.call('stats');
    const c = await client.call(
      'connect',
      { url: `${ready.url}${ready.path}`, n: opts.subscribers, kind: contender },
      300_000,
    );
    progress(
      `scale ${contender}: ${c.connected} of ${opts.subscribers} subscribers connected in ${Math.round(c.ms)} ms`,
    );
    await sleep(500);
    await server.call('gc');
    const loaded = await server.call('stats');
    await client.call('measure', { on: true });
    await server.call('rate', { perSec: opts.perSec });
    await sleep(opts.durationMs);
    const { published } = await server.call('stop');
    const after = await server.call('stats');
    const expected = published * c.connected;
    const deadline = performance.now() + 10_000;
    let status = await client.call('status');
    while (status.received < expected && performance.now() < deadline) {
      await sleep(100);
      status = await client.call('status');
    }
    const lat = await client.call('latency');
    const result: ScaleResult = {
      contender,
      subscribers: opts.subscribers,
      connected: c.connected,
      connectMs: c.ms,
      perSec: opts.perSec,
      durationMs: opts.durationMs,
      published,
      expected,
      received: status.received,
      allDelivered: c.connected === opts.subscribers && status.received === expected,
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      maxMs: lat.max,
      rssKbPerSubscriber: (loaded.rss - idle.rss) / 1024 / Math.max(1, c.connected),
      serverRssMb: loaded.rss / 1024 / 1024,
      cpuUsPerDelivery: ((after.cpuMs - loaded.cpuMs) * 1000) / Math.max(1, status.received),
      dropped: status.ended + status.streamErrors,
    };
    progress(
      `scale ${contender}: ${result.received}/${result.expected} deliveries, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ${result.rssKbPerSubscriber.toFixed(1)} KB/sub`,
    );
    return result;
  } finally {
    await client.call('close').catch(() => {});
    await client.stop();
    await server.stop();
  }
}
