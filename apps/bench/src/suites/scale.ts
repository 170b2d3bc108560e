import { type BenchChild, startChild } from '../child.js';
import type { BenchMode } from '../modes.js';
import { histogramPercentile } from '../stats.js';
import { rawTarget, stationTarget } from './scale-targets.js';

/** One publish rate of the scale check, measured on its own. */
export interface ScaleStep {
  /** Readings a second asked for. */
  perSec: number;
  /** Readings the schedule offered (perSec × duration). */
  offered: number;
  /** Readings published: fewer than offered when a publish took longer than the period (those ticks are skipped). */
  published: number;
  /**
   * How long one publish took, on average and at most (ms): for the station a
   * weather.report round trip, which waits behind the fan-out of the reading
   * before it; for raw SSE its loop of res.write calls (node corks each
   * response and does the socket writes on the next tick, after the call).
   */
  publishMeanMs: number;
  publishMaxMs: number;
  /** Readings a second the server actually took: published over the step's duration (or longer, when the last publish ran over). */
  sustainedPerSec: number;
  /** The rate held: at least 95 % of the offered readings published, and every one delivered to every subscriber. */
  reached: boolean;
  expected: number;
  received: number;
  /** The fewest readings any open subscriber received (every subscriber got all: equals published). */
  minPerSubscriber: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server CPU over the step (publishing and draining), % of one core. */
  serverCpuPct: number;
  /** The client processes' CPU over the step, summed, % of one core. */
  clientCpuPct: number;
  /** Server CPU time per delivery. */
  cpuUsPerDelivery: number;
  /**
   * Readings a second one whole core would take at that cost (1 s ÷ the CPU
   * time of one reading's fan-out): the server's own ceiling, whatever else
   * the machine runs.
   */
  oneCorePerSec: number;
}

export interface ScaleResult {
  /** station (the real weather station process), or raw (node:http SSE) as the machine's reference. */
  contender: 'station' | 'raw';
  subscribers: number;
  connected: number;
  connectMs: number;
  /** The target rate (the first step). */
  perSec: number;
  /** Each step's publishing time. */
  durationMs: number;
  /** The target rate first, then the lower rates stepped down to. */
  steps: ScaleStep[];
  /** The target step's figures, as in steps[0]. */
  published: number;
  expected: number;
  received: number;
  /** Every subscriber received every reading published, in every step. */
  allDelivered: boolean;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssKbPerSubscriber: number;
  serverRssMb: number;
  /** Server CPU time per delivery at the target rate. */
  cpuUsPerDelivery: number;
  /** Streams that ended during the check. */
  dropped: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Latency histogram bucket width of scale-client.ts's `histogram` (ms). */
const BUCKET_MS = 0.1;

/** How long a step's deliveries may take to arrive after its last publish. */
const DRAIN_MS = 20_000;

/**
 * What one station (or raw server) holds when no mode says: the descriptor
 * limit, less room. 10 readings/s is the issue's target; when a server
 * cannot hold it, the lower rates show where it can, each for `durationMs`.
 */
export const SCALE_DEFAULT = {
  subscribers: 19_000,
  perSec: 10,
  stepDown: [5, 2, 1],
  durationMs: 10_000,
  clients: 4,
};

/**
 * The scale check: one weather station process (`npm run weather:station --
 * --port 0 --data <dir>`, its own limits, Corbel's packages as built) holds
 * `subscribers` streams on weather.readings while readings are reported at
 * `perSec` a second, then at each lower rate of `stepDown`; raw node:http SSE
 * runs the same check as the machine's reference. The subscribers are spread
 * over `clients` processes (clients/scale-client.ts, a byte scanner on plain
 * sockets), each connecting from its own source address (127.0.0.2, .3, ...)
 * so that no address runs out of ephemeral ports; latency percentiles are
 * over every delivery of every process. The publisher skips the ticks a
 * publish overran (paced.ts), so a server that cannot keep a rate shows as
 * fewer readings published, never as a backlog the publisher built.
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
      Array.from({ length: count }, () =>
        startChild('./clients/scale-client.ts', [], { profile: 'scale-client' }),
      ),
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

    type Status = { received: number; ended: number; cpuMs: number };
    const status = async () => {
      const s = await all<Status>('status');
      return {
        received: s.reduce((n, x) => n + x.received, 0),
        dropped: s.reduce((n, x) => n + x.ended, 0),
        cpuMs: s.reduce((n, x) => n + x.cpuMs, 0),
      };
    };
    const steps: ScaleStep[] = [];
    for (const perSec of [opts.perSec, ...(opts.stepDown ?? [])]) {
      await all('measure', { on: true });
      const [server0, clients0] = await Promise.all([target.stats(), status()]);
      const t0 = performance.now();
      const paced = await target.pace(perSec, opts.durationMs);
      const expected = paced.published * connected;
      const deadline = performance.now() + DRAIN_MS;
      let now = await status();
      while (now.received < expected && performance.now() < deadline) {
        await sleep(100);
        now = await status();
      }
      const wallMs = performance.now() - t0;
      const server1 = await target.stats();
      await all('measure', { on: false });
      const h = await all<{ buckets: [number, number][]; minPerSubscriber: number }>('histogram', {}, 60_000);
      const histograms = h.map((x) => x.buckets);
      const minPerSubscriber = Math.min(...h.map((x) => x.minPerSubscriber));
      const step: ScaleStep = {
        perSec,
        offered: paced.offered,
        published: paced.published,
        publishMeanMs: paced.callMeanMs,
        publishMaxMs: paced.callMaxMs,
        sustainedPerSec: (paced.published * 1000) / Math.max(opts.durationMs, paced.ms),
        reached:
          paced.published >= 0.95 * paced.offered &&
          now.received === expected &&
          minPerSubscriber === paced.published,
        expected,
        received: now.received,
        minPerSubscriber,
        p50Ms: histogramPercentile(histograms, 0.5, BUCKET_MS),
        p99Ms: histogramPercentile(histograms, 0.99, BUCKET_MS),
        maxMs: histogramPercentile(histograms, 1, BUCKET_MS),
        serverCpuPct: ((server1.cpuMs - server0.cpuMs) * 100) / wallMs,
        clientCpuPct: ((now.cpuMs - clients0.cpuMs) * 100) / wallMs,
        cpuUsPerDelivery: ((server1.cpuMs - server0.cpuMs) * 1000) / Math.max(1, now.received),
        oneCorePerSec: 0,
      };
      step.oneCorePerSec = 1e6 / (step.cpuUsPerDelivery * Math.max(1, connected));
      steps.push(step);
      progress(
        `scale ${contender} at ${perSec}/s: ${step.published} of ${step.offered} published (${step.sustainedPerSec.toFixed(1)}/s${step.reached ? '' : ', rate NOT held'}; a publish took ${step.publishMeanMs.toFixed(0)} ms, at most ${step.publishMaxMs.toFixed(0)}), ${step.received}/${step.expected} deliveries, p50 ${step.p50Ms.toFixed(1)} ms, p99 ${step.p99Ms.toFixed(1)} ms; server CPU ${step.serverCpuPct.toFixed(0)} % (${step.cpuUsPerDelivery.toFixed(1)} µs/delivery: one core takes ${step.oneCorePerSec.toFixed(1)}/s), clients ${step.clientCpuPct.toFixed(0)} %`,
      );
    }
    const { dropped } = await status();
    const first = steps[0]!;
    return {
      contender,
      subscribers: opts.subscribers,
      connected,
      connectMs,
      perSec: opts.perSec,
      durationMs: opts.durationMs,
      steps,
      published: first.published,
      expected: first.expected,
      received: first.received,
      allDelivered:
        connected === opts.subscribers &&
        steps.every((s) => s.received === s.expected && s.minPerSubscriber === s.published),
      p50Ms: first.p50Ms,
      p99Ms: first.p99Ms,
      maxMs: first.maxMs,
      rssKbPerSubscriber: (loaded.rss - idle.rss) / 1024 / Math.max(1, connected),
      serverRssMb: loaded.rss / 1024 / 1024,
      cpuUsPerDelivery: first.cpuUsPerDelivery,
      dropped,
    };
  } finally {
    await Promise.all(clients.map((c) => c.call('close').catch(() => {})));
    await Promise.all(clients.map((c) => c.stop()));
    await target.stop();
  }
}
