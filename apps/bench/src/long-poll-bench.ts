/**
 * Long polling next to SSE, in the same run: N subscribers (default 1,000)
 * in one process receive events that a Corbel server in another process
 * publishes at a fixed rate, first over event streams, then over long polls
 * (protocol.md section 4.4); each row gives delivered events/s and p50/p99
 * latency (publish to receipt). `runLongPollBench` is what `npm run bench`
 * calls; run alone (from the TypeScript sources or as built):
 *
 *   node --import tsx apps/bench/src/long-poll-bench.ts [--n 1000] [--rate 50] [--seconds 5] [--json]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchChild, startChild } from './child.js';

export const LONG_POLL_TRANSPORTS = ['sse', 'long-poll'] as const;
export type LongPollBenchTransport = (typeof LONG_POLL_TRANSPORTS)[number];

export interface LongPollBenchOptions {
  /** Subscribers per transport (default 1,000). */
  subscribers?: number | undefined;
  /** Events published per second (default 50). */
  perSec?: number | undefined;
  /** How long the measured phase publishes (default 5 s). */
  durationMs?: number | undefined;
  /** Publishing before the measurement, not counted (default 1 s). */
  warmupMs?: number | undefined;
  /** How long to wait for the last deliveries after publishing stops (default 5 s). */
  drainMs?: number | undefined;
}

/** One transport's figures. */
export interface LongPollBenchRow {
  transport: LongPollBenchTransport;
  subscribers: number;
  /** Events published in the measured phase, and at what rate. */
  published: number;
  perSec: number;
  /** published × subscribers. */
  expected: number;
  delivered: number;
  /** Deliveries expected that had not arrived when the drain ended. */
  missing: number;
  /** Deliveries per second of the measured phase, summed over subscribers. */
  deliveredPerSec: number;
  /** Publish→receipt latency over every delivery. */
  p50Ms: number;
  p99Ms: number;
  /** Streams that ended, polls that failed (should be 0). */
  clientErrors: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

async function runOne(
  transport: LongPollBenchTransport,
  o: Required<LongPollBenchOptions>,
  progress: (line: string) => void,
): Promise<LongPollBenchRow> {
  const { child: server, ready } = await startChild('./servers/long-poll-server.ts', [], {
    profile: 'long-poll-server',
  });
  let clients: BenchChild | undefined;
  try {
    clients = (await startChild('./clients/long-poll-clients.ts', [])).child;
    const c = clients;
    await c.call('start', { url: ready.url, transport, n: o.subscribers });
    // Every subscriber in: each stream open, each first poll waiting.
    const connected = await until(
      async () => (await server.call<number>('subscribers')) >= o.subscribers,
      60_000,
    );
    if (!connected) {
      throw new Error(
        `only ${await server.call('subscribers')} of ${o.subscribers} ${transport} subscribers connected`,
      );
    }
    if (o.warmupMs > 0) {
      const warm = await server.call<{ published: number }>('publish', { perSec: o.perSec, ms: o.warmupMs });
      const want = warm.published * o.subscribers;
      await until(async () => (await c.call<{ received: number }>('status')).received >= want, o.drainMs);
      await c.call('reset');
    }
    const { published, seconds } = await server.call<{ published: number; seconds: number }>(
      'publish',
      { perSec: o.perSec, ms: o.durationMs },
      o.durationMs + 60_000,
    );
    const expected = published * o.subscribers;
    await until(async () => (await c.call<{ received: number }>('status')).received >= expected, o.drainMs);
    const report = await c.call<{ received: number; errors: number; p50: number; p99: number }>('report');
    const row: LongPollBenchRow = {
      transport,
      subscribers: o.subscribers,
      published,
      perSec: o.perSec,
      expected,
      delivered: report.received,
      missing: Math.max(0, expected - report.received),
      deliveredPerSec: Math.round(report.received / seconds),
      p50Ms: Number(report.p50.toFixed(2)),
      p99Ms: Number(report.p99.toFixed(2)),
      clientErrors: report.errors,
    };
    progress(
      `long-poll bench: ${transport} N=${row.subscribers}: ${row.deliveredPerSec} deliveries/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.missing} missing, ${row.clientErrors} client errors`,
    );
    return row;
  } finally {
    await clients?.stop();
    await server.stop();
  }
}

/**
 * Runs the long-poll bench: the same server and event rate, N subscribers
 * over event streams, then N over long polls; one row per transport. Every
 * process it starts is stopped before it returns.
 *
 * @example
 * const rows = await runLongPollBench({ subscribers: 1000, perSec: 50, durationMs: 5000 }, console.error);
 * // [{ transport: 'sse', deliveredPerSec, p50Ms, p99Ms, … }, { transport: 'long-poll', … }]
 */
export async function runLongPollBench(
  opts: LongPollBenchOptions = {},
  progress: (line: string) => void = () => {},
): Promise<LongPollBenchRow[]> {
  const o: Required<LongPollBenchOptions> = {
    subscribers: opts.subscribers ?? 1000,
    perSec: opts.perSec ?? 50,
    durationMs: opts.durationMs ?? 5000,
    warmupMs: opts.warmupMs ?? 1000,
    drainMs: opts.drainMs ?? 5000,
  };
  const rows: LongPollBenchRow[] = [];
  for (const transport of LONG_POLL_TRANSPORTS) rows.push(await runOne(transport, o, progress));
  return rows;
}

/** The rows as a plain-text table. */
export function renderLongPollRows(rows: LongPollBenchRow[]): string {
  const head = 'transport   subscribers   events/s   delivered/s   delivered/expected   p50 ms   p99 ms';
  const lines = rows.map(
    (r) =>
      `${r.transport.padEnd(11)} ${String(r.subscribers).padStart(11)}   ${String(r.perSec).padStart(8)}   ${String(r.deliveredPerSec).padStart(11)}   ${`${r.delivered}/${r.expected}`.padStart(18)}   ${String(r.p50Ms).padStart(6)}   ${String(r.p99Ms).padStart(6)}`,
  );
  return [head, ...lines].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const rows = await runLongPollBench(
    {
      subscribers: values.n === undefined ? undefined : Number(values.n),
      perSec: values.rate === undefined ? undefined : Number(values.rate),
      durationMs: values.seconds === undefined ? undefined : Number(values.seconds) * 1000,
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${renderLongPollRows(rows)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`long-poll bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
