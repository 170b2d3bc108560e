import { type BenchChild, startChild } from '../child.js';
import { type BenchMode, latencyRate, saturationWindow } from '../modes.js';
import { type PairedRatio, pairedRatio } from '../paired-ratio.js';
import { median } from '../stats.js';

export const FANOUT_CONTENDERS = ['corbel', 'trpc', 'raw', 'socketio'] as const;
export type FanoutContender = (typeof FANOUT_CONTENDERS)[number];

// Raw SSE is the peer of every fan-out target, so Corbel runs right beside it
// (seconds apart, not most of a repetition apart); the other two follow.
const MEASURING_ORDER: readonly FanoutContender[] = ['raw', 'corbel', 'socketio', 'trpc'];

/**
 * The contenders of repetition `rep` (from 1) in the order they run at each
 * size: every other repetition in reverse, so a machine that speeds up or
 * slows down during a repetition favours neither Corbel nor raw over the run.
 */
export function fanoutMeasuringOrder(rep: number): FanoutContender[] {
  const order = [...MEASURING_ORDER];
  return rep % 2 === 1 ? order : order.reverse();
}

/** Paired ratios (Corbel ÷ raw SSE per repetition, at one size) for the fan-out targets. */
export interface FanoutPairs {
  deliveredVsRaw?: PairedRatio | undefined;
  p99VsRaw?: PairedRatio | undefined;
  rssVsRaw?: PairedRatio | undefined;
}

/** The paired ratios of each size `runs` hold, keyed by subscriber count. */
export function fanoutPairs(runs: readonly FanoutRun[]): Record<number, FanoutPairs> {
  const out: Record<number, FanoutPairs> = {};
  for (const n of new Set(runs.map((r) => r.subscribers))) {
    const atN = (r: FanoutRun) => r.subscribers === n;
    out[n] = {
      deliveredVsRaw: pairedRatio(runs, 'raw', 'deliveredPerSec', atN),
      p99VsRaw: pairedRatio(runs, 'raw', 'p99Ms', atN),
      rssVsRaw: pairedRatio(runs, 'raw', 'rssKbPerSubscriber', atN),
    };
  }
  return out;
}

export interface FanoutRun {
  contender: FanoutContender;
  subscribers: number;
  rep: number;
  connected: number;
  /** Events received per second, summed over subscribers, with the publisher at saturation. */
  deliveredPerSec: number;
  cpuUsPerDelivery: number;
  /** Publish→receive latency at `latencyRate` events/s. */
  latencyRate: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * The server's share of that latency: from a publish until the event was
   * written to every subscriber socket (p50 and p99 over the events; see
   * fanout-server's `publishTimed`). The rest is the subscribers' process
   * reading N sockets.
   */
  handoffP50Ms: number;
  handoffP99Ms: number;
  /** Deliveries expected in the latency phase that had not arrived when it ended. */
  missing: number;
  /** Server RSS one more idle subscriber costs: (RSS at N − RSS at N/2) / (N/2). */
  rssKbPerSubscriber: number;
  /** (RSS at N − RSS of the empty server) / N, one-time growth included. */
  rssKbPerSubscriberFromEmpty: number;
  /** V8 heap in use per added subscriber (same slope as rssKbPerSubscriber). */
  heapKbPerSubscriber: number;
  /** Streams that ended or errored during the run. */
  dropped: number;
}

export type FanoutStats = Omit<FanoutRun, 'contender' | 'subscribers' | 'rep'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the client has `target` events in total, or `ms` passed. */
async function waitFor(client: BenchChild, target: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  for (;;) {
    const { received } = await client.call('status');
    if (received >= target || performance.now() > deadline) return received;
    await sleep(50);
  }
}

/** One contender with `n` subscribers: idle memory, saturation throughput, then latency at a fixed rate. */
export async function runFanoutOnce(
  contender: FanoutContender,
  n: number,
  rep: number,
  mode: BenchMode,
  client: BenchChild,
): Promise<FanoutRun> {
  const { child: server, ready } = await startChild('./servers/fanout-server.ts', ['--kind', contender], {
    profile: contender === 'corbel' ? 'corbel' : undefined,
  });
  let onProgress = (_m: { received: number }) => {};
  const unlisten = client.on('progress', (m) => onProgress(m));
  try {
    await server.call('gc');
    const idle = await server.call('stats');
    // Memory is measured at half and at all subscribers: the slope between
    // the two is what one more idle subscriber costs, without the one-time
    // growth (V8's young generation, compiled code) that the first
    // connections cause in every server.
    const url = `${ready.url}${ready.path}`;
    const half = Math.floor(n / 2);
    const c1 = await client.call('connect', { url, n: half, kind: contender }, 180_000);
    await sleep(300);
    await server.call('gc');
    const mid = await server.call('stats');
    const c2 = await client.call('connect', { url, n: n - half, kind: contender }, 180_000);
    const c = { connected: c1.connected + c2.connected, firstError: c1.firstError || c2.firstError };
    if (c.connected === 0) throw new Error(`${contender}: no subscriber connected (${c.firstError})`);
    await sleep(300);
    await server.call('gc');
    const loaded = await server.call('stats');
    const rssKbPerSubscriber = (loaded.rss - mid.rss) / 1024 / Math.max(1, c2.connected);
    const rssKbPerSubscriberFromEmpty = (loaded.rss - idle.rss) / 1024 / c.connected;
    const heapKbPerSubscriber = (loaded.heapUsed - mid.heapUsed) / 1024 / Math.max(1, c2.connected);

    // Saturation: publish as fast as the subscribers take events.
    const sub = client;
    onProgress = (m) => {
      server.call('ack', { delivered: Math.floor(m.received / c.connected) }).catch(() => {});
    };
    await sub.call('progress', { everyMs: 20 });
    await server.call('saturate', { window: saturationWindow(n), burst: 8 });
    await sleep(mode.fanout.warmupMs);
    const [a, ca] = await Promise.all([sub.call('status'), server.call('stats')]);
    await sleep(mode.fanout.durationMs);
    const [b, cb] = await Promise.all([sub.call('status'), server.call('stats')]);
    const { published } = await server.call('stop');
    await sub.call('progress', { everyMs: 0 });
    const deliveredInWindow = b.received - a.received;
    const deliveredPerSec = (deliveredInWindow * 1000) / (b.t - a.t);
    const cpuUsPerDelivery = ((cb.cpuMs - ca.cpuMs) * 1000) / Math.max(1, deliveredInWindow);
    const afterSaturation = await waitFor(sub, published * c.connected, mode.fanout.drainMs);

    // Latency at a fixed publish rate.
    const rate = latencyRate(n);
    await server.call('rate', { perSec: rate });
    await sleep(mode.fanout.latencyWarmupMs);
    await sub.call('measure', { on: true });
    await sleep(mode.fanout.latencyMs);
    const { published: total, handoff } = await server.call('stop');
    const expected = afterSaturation + (total - published) * c.connected;
    const got = await waitFor(sub, expected, mode.fanout.drainMs);
    await sub.call('measure', { on: false });
    const lat = await sub.call('latency');
    const status = await sub.call('status');
    return {
      contender,
      subscribers: n,
      rep,
      connected: c.connected,
      deliveredPerSec,
      cpuUsPerDelivery,
      latencyRate: rate,
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      handoffP50Ms: handoff.p50 ?? Number.NaN,
      handoffP99Ms: handoff.p99 ?? Number.NaN,
      missing: Math.max(0, expected - got),
      rssKbPerSubscriber,
      rssKbPerSubscriberFromEmpty,
      heapKbPerSubscriber,
      dropped: status.ended + status.streamErrors,
    };
  } finally {
    unlisten();
    await client.call('close').catch(() => {});
    await server.stop();
  }
}

/**
 * Fan-out for every contender and size; within each repetition and size, the
 * contenders run in `fanoutMeasuringOrder`, and the targets are judged on the
 * paired ratios (`fanoutPairs`) rather than on a ratio of the medians.
 */
export async function runFanout(
  mode: BenchMode,
  progress: (line: string) => void,
  sizes = mode.fanout.sizes,
): Promise<{
  runs: FanoutRun[];
  median: Record<number, Record<FanoutContender, FanoutStats>>;
  paired: Record<number, FanoutPairs>;
}> {
  const runs: FanoutRun[] = [];
  const { child: client } = await startChild('./clients/subscriber-client.ts', []);
  try {
    for (let rep = 1; rep <= mode.reps; rep++) {
      for (const n of sizes) {
        for (const contender of fanoutMeasuringOrder(rep)) {
          let run: FanoutRun;
          try {
            run = await runFanoutOnce(contender, n, rep, mode, client);
          } catch (error) {
            // One failed run (a contender that cannot hold N subscribers) must not lose the rest.
            progress(
              `fan-out ${contender} N=${n} rep ${rep} failed: ${(error as Error).message.split('\n')[0]}`,
            );
            await client.call('close').catch(() => {});
            continue;
          }
          runs.push(run);
          progress(
            `fan-out ${contender} N=${n} rep ${rep}: ${Math.round(run.deliveredPerSec)} delivered/s, ` +
              `p99 ${run.p99Ms.toFixed(1)} ms at ${run.latencyRate}/s (hand-off p50 ${run.handoffP50Ms.toFixed(1)}, p99 ${run.handoffP99Ms.toFixed(1)} ms), ${run.rssKbPerSubscriber.toFixed(1)} KB/sub, ` +
              `${run.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery${run.missing ? `, ${run.missing} missing` : ''}${run.dropped ? `, ${run.dropped} dropped` : ''}`,
          );
        }
      }
    }
  } finally {
    await client.stop();
  }
  const summary: Record<number, Record<FanoutContender, FanoutStats>> = {};
  for (const n of sizes) {
    summary[n] = {} as Record<FanoutContender, FanoutStats>;
    for (const c of FANOUT_CONTENDERS) {
      const mine = runs.filter((r) => r.contender === c && r.subscribers === n);
      const m = (f: (r: FanoutRun) => number) => median(mine.map(f));
      summary[n]![c] = {
        connected: m((r) => r.connected),
        deliveredPerSec: m((r) => r.deliveredPerSec),
        cpuUsPerDelivery: m((r) => r.cpuUsPerDelivery),
        latencyRate: m((r) => r.latencyRate),
        p50Ms: m((r) => r.p50Ms),
        p99Ms: m((r) => r.p99Ms),
        handoffP50Ms: m((r) => r.handoffP50Ms),
        handoffP99Ms: m((r) => r.handoffP99Ms),
        missing: m((r) => r.missing),
        rssKbPerSubscriber: m((r) => r.rssKbPerSubscriber),
        rssKbPerSubscriberFromEmpty: m((r) => r.rssKbPerSubscriberFromEmpty),
        heapKbPerSubscriber: m((r) => r.heapKbPerSubscriber),
        dropped: m((r) => r.dropped),
      };
    }
  }
  return { runs, median: summary, paired: fanoutPairs(runs) };
}
