import { type BenchChild, startChild } from '../child.js';
import type { BenchMode } from '../modes.js';
import { histogramPercentile } from '../stats.js';
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

/** Latency histogram bucket width of subscriber-client.ts's `histogram` (ms). */
const BUCKET_MS = 0.1;

/** What one station (or raw server) holds when no mode says: the descriptor limit, less room. */
export const SCALE_DEFAULT = { subscribers: 19_000, perSec: 10, durationMs: 10_000, clients: 4 };

/**
 * The scale check: one weather station process (`npm run weather:station --
 * --port 0 --data <dir>`, its own limits, Corbel's packages as built) holds
 * `subscribers` streams on weather.readings while readings are reported at
 * `perSec` a second; raw node:http SSE runs the same check as the machine's
 * reference. The subscribers are spread over `clients` processes, each
 * connecting from its own source address (127.0.0.2, .3, ...) so that no
 * address runs out of ephemeral ports and no client process is the
 * bottleneck; latency percentiles are over every delivery of every process.
 */
export async function runScale(
  mode: BenchMode,
  progress: (line: string) => void,
  contender: 'station' | 'raw' = 'station',
  opts = mode.scale ?? SCALE_DEFAULT,
): Promise<ScaleResult> {
  const target = contender === 'station' ? await stationTarget() : await rawTarget();
  const count = Math.max(1, Math.min(opts.clients, opts.subscribers));
  const clients: BenchChild[] = [];
  try {
    const starting = await Promise.allSettled(
      Array.from({ length: count }, () => startChild('./clients/subscriber-client.ts', [])),
    );
    // Every client that started is stopped below, even when another failed to.
    for (const r of starting) if (r.status === 'fulfilled') clients.push(r.value.child);
    const failed = starting.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const all = <T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs?: number) =>
      Promise.all(clients.map((c) => c.call<T>(cmd, args, timeoutMs)));
    await target.gc();
    const idle = await target.stats();
    const started = performance.now();
    const share = (i: number) =>
      Math.floor(opts.subscribers / count) + (i < opts.subscribers % count ? 1 : 0);
    const connects = await Promise.all(
      clients.map((c, i) =>
        c.call<{ connected: number; retried: number; firstError: string }>(
          'connect',
          {
            url: target.url,
            n: share(i),
            kind: contender,
            stampField: target.stampField,
            source: `127.0.0.${2 + i}`,
            // A handshake the loaded server answers late (408) is tried again, as a client would.
            concurrency: 100,
            retries: 3,
          },
          600_000,
        ),
      ),
    );
    const connectMs = performance.now() - started;
    const connected = connects.reduce((n, c) => n + c.connected, 0);
    const firstError = connects.find((c) => c.firstError)?.firstError;
    const retried = connects.reduce((n, c) => n + c.retried, 0);
    progress(
      `scale ${contender}: ${connected} of ${opts.subscribers} subscribers connected from ${count} processes in ${Math.round(connectMs)} ms${firstError ? ` (${retried} handshakes retried; first error: ${firstError})` : ''}`,
    );
    await sleep(1000);
    await target.gc();
    const loaded = await target.stats();
    await all('measure', { on: true });
    target.publishAt(opts.perSec);
    await sleep(opts.durationMs);
    const published = await target.stopPublishing();
    const after = await target.stats();
    const expected = published * connected;
    type Status = { received: number; ended: number; streamErrors: number };
    const total = async () => {
      const s = await all<Status>('status');
      return {
        received: s.reduce((n, x) => n + x.received, 0),
        dropped: s.reduce((n, x) => n + x.ended + x.streamErrors, 0),
      };
    };
    const deadline = performance.now() + 15_000;
    let status = await total();
    while (status.received < expected && performance.now() < deadline) {
      await sleep(200);
      status = await total();
    }
    await all('measure', { on: false });
    const histograms = (await all<{ buckets: [number, number][] }>('histogram', {}, 60_000)).map(
      (h) => h.buckets,
    );
    const result: ScaleResult = {
      contender,
      subscribers: opts.subscribers,
      connected,
      connectMs,
      perSec: opts.perSec,
      durationMs: opts.durationMs,
      published,
      expected,
      received: status.received,
      allDelivered: connected === opts.subscribers && status.received === expected,
      p50Ms: histogramPercentile(histograms, 0.5, BUCKET_MS),
      p99Ms: histogramPercentile(histograms, 0.99, BUCKET_MS),
      maxMs: histogramPercentile(histograms, 1, BUCKET_MS),
      rssKbPerSubscriber: (loaded.rss - idle.rss) / 1024 / Math.max(1, connected),
      serverRssMb: loaded.rss / 1024 / 1024,
      cpuUsPerDelivery: ((after.cpuMs - loaded.cpuMs) * 1000) / Math.max(1, status.received),
      dropped: status.dropped,
    };
    progress(
      `scale ${contender}: ${result.received}/${result.expected} deliveries, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ${result.rssKbPerSubscriber.toFixed(1)} KB/sub`,
    );
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.call('close').catch(() => {})));
    await Promise.all(clients.map((c) => c.stop()));
    await target.stop();
  }
}
