/**
 * The durable path, measured: acknowledged publishes per second on the SQLite
 * store at synchronous=NORMAL (the default) and FULL, over the hub in-process
 * and as `report` commands over HTTP; then the replay of 100,000 stored events
 * to one subscriber (from the hub, and over SSE through the serving path).
 *
 * Run: node --conditions=@corbel/source --import tsx apps/bench/src/durable.ts [--quick|--smoke] [--json]
 * (`npm run bench` runs it through apps/bench/src/suites/durable.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCorbelClient } from '@corbel/client';
import { createHub, defineChannel, type EventLog, type Hub, initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { createSqliteLog, type SqliteSynchronous } from '@corbel/store-sqlite';
import { z } from 'zod';
import { BENCH_LIMITS } from './corbel-limits.js';
import { inLanes } from './lanes.js';

const readings = defineChannel(
  'bench.readings',
  z.object({ city: z.string(), celsius: z.number(), at: z.date() }),
);

export interface DurableBenchOptions {
  mode?: string;
  reps?: number;
  progress?: (line: string) => void;
}

export interface DurableFigures {
  [key: string]: unknown;
  publishNormalPerSec: number;
  publishFullPerSec: number;
  reportNormalPerSec: number;
  reportFullPerSec: number;
  replayEvents: number;
  replayHubPerSec: number;
  replaySsePerSec: number;
  counts: { publishNormal: number; publishFull: number; reportNormal: number; reportFull: number };
}

function benchRouter(hub: Hub) {
  const t = initCorbel();
  return t.router({
    report: t.procedure
      .input(z.object({ city: z.string(), celsius: z.number() }))
      .mutation(async ({ input }) => ({
        id: (await hub.publish(readings, { ...input, at: new Date() })).id,
      })),
    readings: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }))
      .subscription(({ input, signal }) => hub.subscribe(readings, { after: input.lastEventId, signal })),
  });
}

/** A fresh SQLite store in a temp directory; removed by the returned cleanup. */
function freshLog(synchronous: SqliteSynchronous): { log: EventLog; done: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-durable-bench-'));
  const log = createSqliteLog({ dataDir: dir, synchronous, retention: { maxCount: 1_000_000 } });
  return {
    log,
    done: async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sequential awaited publishes: each one committed before the next starts. */
async function publishRate(synchronous: SqliteSynchronous, count: number): Promise<number> {
  const { log, done } = freshLog(synchronous);
  const hub = createHub({ log });
  try {
    for (let i = 0; i < 200; i++)
      await hub.publish(readings, { city: 'warm-up', celsius: 0, at: new Date() });
    const started = performance.now();
    for (let i = 0; i < count; i++)
      await hub.publish(readings, { city: `c${i % 50}`, celsius: i % 100, at: new Date() });
    return count / ((performance.now() - started) / 1000);
  } finally {
    await hub.close();
    await done();
  }
}

/** `report` mutations over HTTP from `concurrency` callers; a call counts once acknowledged. */
async function reportRate(synchronous: SqliteSynchronous, count: number, concurrency = 32): Promise<number> {
  const { log, done } = freshLog(synchronous);
  const hub = createHub({ log });
  const server = createCorbelServer({ router: benchRouter(hub), limits: BENCH_LIMITS });
  const { url } = await server.listen({ port: 0 });
  const client = createCorbelClient<ReturnType<typeof benchRouter>>({ url });
  try {
    for (let i = 0; i < 100; i++) await client.report.mutate({ city: 'warm-up', celsius: 0 });
    const started = performance.now();
    await inLanes(count, concurrency, (i) => client.report.mutate({ city: 'Oslo', celsius: (i + 1) % 100 }));
    return count / ((performance.now() - started) / 1000);
  } finally {
    await server.close();
    await hub.close();
    await done();
  }
}

/** Replays `count` stored events to one subscriber: from the hub, then over SSE. */
async function replayRates(count: number): Promise<{ hub: number; sse: number }> {
  const { log, done } = freshLog('NORMAL');
  const hub = createHub({ log });
  try {
    let first: string | undefined;
    for (let i = 0; i < count; i++) {
      const e = await hub.publish(readings, { city: `c${i % 50}`, celsius: i % 100, at: new Date() });
      first ??= e.id;
    }
    // In-process: the hub reads the log in pages and hands events over.
    let started = performance.now();
    let seen = 1;
    const ac = new AbortController();
    for await (const _ of await hub.subscribe(readings, { after: first, signal: ac.signal })) {
      if (++seen === count) break;
    }
    const hubRate = count / ((performance.now() - started) / 1000);

    // Over HTTP: the serving path writes SSE frames; a raw reader counts them.
    const server = createCorbelServer({ router: benchRouter(hub), limits: BENCH_LIMITS });
    const { url } = await server.listen({ port: 0 });
    try {
      started = performance.now();
      const input = encodeURIComponent(JSON.stringify({ json: {} }));
      const frames = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${url}/rpc/readings?input=${input}`,
          { headers: { accept: 'text/event-stream', 'last-event-id': first! } },
          (res) => {
            let n = 1;
            let tail = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              const text = tail + chunk;
              let at = text.indexOf('\nid: ');
              while (at >= 0) {
                n++;
                at = text.indexOf('\nid: ', at + 5);
              }
              tail = text.slice(-5);
              if (n >= count) {
                req.destroy();
                resolve(n);
              }
            });
            res.on('end', () => resolve(n));
          },
        );
        req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
        req.end();
      });
      const sseRate = frames / ((performance.now() - started) / 1000);
      return { hub: hubRate, sse: sseRate };
    } finally {
      await server.close();
    }
  } finally {
    await hub.close();
    await done();
  }
}

/**
 * Runs the durable bench and returns its figures (events/s).
 *
 * @example
 * const figures = await runDurableBench({ mode: 'quick', progress: console.error });
 */
export async function runDurableBench(opts: DurableBenchOptions = {}): Promise<DurableFigures> {
  const progress = opts.progress ?? (() => {});
  const scale = opts.mode === 'smoke' ? 0.02 : opts.mode === 'quick' ? 0.25 : 1;
  const n = (x: number) => Math.max(50, Math.round(x * scale));
  const counts = {
    publishNormal: n(20_000),
    publishFull: n(2_000),
    reportNormal: n(10_000),
    reportFull: n(2_000),
  };
  const replayEvents = opts.mode === 'smoke' ? 2_000 : 100_000;

  progress(`durable: ${counts.publishNormal} publishes, synchronous=NORMAL`);
  const publishNormalPerSec = await publishRate('NORMAL', counts.publishNormal);
  progress(`durable: ${counts.publishFull} publishes, synchronous=FULL`);
  const publishFullPerSec = await publishRate('FULL', counts.publishFull);
  progress(`durable: ${counts.reportNormal} reports over HTTP, synchronous=NORMAL`);
  const reportNormalPerSec = await reportRate('NORMAL', counts.reportNormal);
  progress(`durable: ${counts.reportFull} reports over HTTP, synchronous=FULL`);
  const reportFullPerSec = await reportRate('FULL', counts.reportFull);
  progress(`durable: storing and replaying ${replayEvents} events`);
  const replay = await replayRates(replayEvents);
  return {
    publishNormalPerSec,
    publishFullPerSec,
    reportNormalPerSec,
    reportFullPerSec,
    replayEvents,
    replayHubPerSec: replay.hub,
    replaySsePerSec: replay.sse,
    counts,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv.includes('--smoke')
    ? 'smoke'
    : process.argv.includes('--quick')
      ? 'quick'
      : 'full';
  const figures = await runDurableBench({ mode, progress: (line) => process.stderr.write(`${line}\n`) });
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } else {
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    const c = figures.counts;
    process.stdout.write(
      [
        `SQLite durable path (${mode}; acknowledged = committed before the call returned)`,
        `  hub.publish, synchronous=NORMAL (default)  ${f(figures.publishNormalPerSec)} events/s  (${c.publishNormal} sequential)`,
        `  hub.publish, synchronous=FULL              ${f(figures.publishFullPerSec)} events/s  (${c.publishFull} sequential)`,
        `  report over HTTP, NORMAL, 32 callers      ${f(figures.reportNormalPerSec)} events/s  (${c.reportNormal})`,
        `  report over HTTP, FULL, 32 callers        ${f(figures.reportFullPerSec)} events/s  (${c.reportFull})`,
        `  replay of ${figures.replayEvents.toLocaleString('en-US')} stored events, hub           ${f(figures.replayHubPerSec)} events/s`,
        `  replay of ${figures.replayEvents.toLocaleString('en-US')} stored events, SSE/HTTP      ${f(figures.replaySsePerSec)} events/s`,
        '',
      ].join('\n'),
    );
  }
}
