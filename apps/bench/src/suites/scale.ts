import { startChild } from '../child.js';
import type { BenchMode } from '../modes.js';
import { rawTarget, stationTarget } from './scale-targets.js';

export interface ScaleResult {
  /** station (the real weather station process), or raw (node:http SSE) as the machine's reference. */
  contender: 'station' | 'raw';
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
 * The scale check: one weather station process (`npm run weather:station --
 * --port 0 --data <dir>`, its own limits) holds `subscribers` streams on
 * weather.readings from a client process while readings are reported at
 * `perSec` a second; raw node:http SSE runs the same check as the machine's
 * reference.
 */
export async function runScale(
  mode: BenchMode,
  progress: (line: string) => void,
  contender: 'station' | 'raw' = 'station',
  opts = mode.scale ?? { subscribers: 10_000, perSec: 10, durationMs: 10_000 },
): Promise<ScaleResult> {
  const target = contender === 'station' ? await stationTarget() : await rawTarget();
  const { child: client } = await startChild('./clients/subscriber-client.ts', []);
  try {
    await target.gc();
    const idle = await target.stats();
    const c = await client.call(
      'connect',
      { url: target.url, n: opts.subscribers, kind: contender, stampField: target.stampField },
      300_000,
    );
    progress(
      `scale ${contender}: ${c.connected} of ${opts.subscribers} subscribers connected in ${Math.round(c.ms)} ms${c.firstError ? ` (first error: ${c.firstError})` : ''}`,
    );
    await sleep(500);
    await target.gc();
    const loaded = await target.stats();
    await client.call('measure', { on: true });
    target.publishAt(opts.perSec);
    await sleep(opts.durationMs);
    const published = await target.stopPublishing();
    const after = await target.stats();
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
    await target.stop();
  }
}
