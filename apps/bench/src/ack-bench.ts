/**
 * Acknowledged delivery next to plain SSE, in the same run: N subscribers
 * (default 10) in a child process receive events published at a fixed rate by
 * a Corbel server in this process — first as plain SSE subscribers, then as N
 * durable consumers (protocol.md section 14) that acknowledge every event
 * after handling it (batched `consumer.ack`). Prints delivered events/s and
 * p50/p99 latency (publish to receipt) for each, and for the durable run how
 * many events the server counted acknowledged. Positions live in memory, or in
 * a SQLite file with `--store sqlite`. Runs the built packages (`npm run build`
 * first), as users do:
 *
 *   node --import tsx apps/bench/src/ack-bench.ts [--n 10] [--rate 1000] [--seconds 5] [--store memory|sqlite] [--json]
 */
import { fork } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCorbelClient, createDurableConsumer } from '@corbel/client';
import {
  type ConsumerPositions,
  createDurableConsumers,
  createHub,
  createMemoryConsumerPositions,
  type DurableConsumers,
  type EventLog,
  type Hub,
  initCorbel,
} from '@corbel/core';
import { createConsumerRouter, createCorbelServer } from '@corbel/server';
import { openSqliteStore } from '@corbel/store-sqlite';
import { z } from 'zod';
import { benchChannel, benchEvent, nowMs } from './bench-router.js';
import { BENCH_LIMITS } from './corbel-limits.js';
import { percentile } from './stats.js';

type Mode = 'sse' | 'acked';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    mode: { type: 'string' },
    url: { type: 'string' },
    n: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    store: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const N = Number(values.n ?? 10);

/** Plain `events` and durable `acked` subscriptions over one channel, with `consumer.ack`. */
function createAckBenchRouter(hub: Hub, consumers: DurableConsumers) {
  const t = initCorbel({ isDev: false });
  return t.router({
    events: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }).optional())
      .subscription(({ input, signal }) =>
        hub.subscribe(benchChannel, { after: input?.lastEventId, signal }),
      ),
    acked: t.procedure
      .input(z.object({ consumer: z.string(), lastEventId: z.string().optional() }))
      .subscription(({ input, signal }) =>
        consumers.subscribe(benchChannel, { owner: 'bench', name: input.consumer, signal }),
      ),
    consumer: createConsumerRouter({ consumers, ownerOf: () => 'bench' }),
  });
}
type AckBenchRouter = ReturnType<typeof createAckBenchRouter>;

/** The subscribers' side: N subscriptions of one mode, counting events and their latency. */
async function clients(url: string, mode: Mode) {
  const client = createCorbelClient<AckBenchRouter>({ url, transport: 'sse' });
  const latencies: number[] = [];
  let received = 0;
  const take = (sentAt: number) => {
    received++;
    latencies.push(nowMs() - sentAt);
  };
  const ac = new AbortController();
  // One signal ends all N subscriptions, each of which listens to it.
  setMaxListeners(N + 10, ac.signal);
  for (let i = 0; i < N; i++) {
    if (mode === 'sse') {
      void (async () => {
        for await (const { data } of client.events.subscribe(undefined, { signal: ac.signal }))
          take(data.sentAt);
      })().catch(() => {});
      continue;
    }
    const consumer = createDurableConsumer({
      name: `bench-${i}`,
      channel: benchChannel.name,
      subscribe: (name, signal) => client.acked.subscribe({ consumer: name }, { signal }),
      sendAck: (input, { idempotencyKey }) =>
        client.consumer.ack.mutate(input, { context: { idempotencyKey } }),
    });
    void (async () => {
      for await (const { data } of consumer.deliveries({ signal: ac.signal })) take(data.sentAt);
    })().catch(() => {});
  }
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'report') return;
    ac.abort();
    latencies.sort((a, b) => a - b);
    process.send?.({
      type: 'report',
      received,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
    });
    setTimeout(() => process.exit(0), 100);
  });
}

interface Figures {
  mode: Mode;
  n: number;
  published: number;
  delivered: number;
  /** Durable run: events the server counted acknowledged (all N consumers). */
  acknowledged: number | null;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function runOne(mode: Mode, rate: number, seconds: number, store: string): Promise<Figures> {
  const dir = store === 'sqlite' ? mkdtempSync(join(tmpdir(), 'corbel-ack-bench-')) : null;
  const sqlite = dir ? openSqliteStore({ dataDir: dir }) : null;
  const log: EventLog | undefined = sqlite?.log;
  const positions: ConsumerPositions = sqlite?.consumers ?? createMemoryConsumerPositions();
  const hub = createHub({ log });
  let acknowledged = 0;
  const consumers = createDurableConsumers({ hub, positions });
  // Counts what the server accepted as acknowledged, behind the router's consumer.ack.
  const router = createAckBenchRouter(hub, {
    ...consumers,
    ack: async (...args) => {
      const n = await consumers.ack(...args);
      acknowledged += n;
      return n;
    },
  });
  const server = createCorbelServer({ router, limits: BENCH_LIMITS, metrics: false });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const child = fork(
    new URL(import.meta.url).pathname,
    ['--role', 'clients', '--mode', mode, '--url', url, '--n', String(N)],
    {
      execArgv: process.execArgv,
    },
  );
  try {
    const deadline = Date.now() + 60_000;
    const connected = () => (mode === 'sse' ? hub.stats().subscribers : consumers.stats().members);
    while (connected() < N) {
      if (Date.now() > deadline) throw new Error(`only ${connected()} of ${N} subscribers connected`);
      await new Promise((r) => setTimeout(r, 50));
    }
    let published = 0;
    const started = Date.now();
    const every = 1000 / rate;
    while (Date.now() - started < seconds * 1000) {
      await hub.publish(benchChannel, benchEvent(published++));
      const next = started + published * every;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    const elapsed = (Date.now() - started) / 1000;
    // Let the last events (and their acknowledgements) arrive.
    await new Promise((r) => setTimeout(r, 1500));
    const report = await new Promise<{ received: number; p50: number; p99: number }>((resolve) => {
      child.once('message', (m: any) => resolve(m));
      child.send({ type: 'report' });
    });
    return {
      mode,
      n: N,
      published,
      delivered: report.received,
      acknowledged: mode === 'acked' ? acknowledged : null,
      eventsPerSecond: Math.round(report.received / elapsed),
      p50Ms: Number(report.p50.toFixed(2)),
      p99Ms: Number(report.p99.toFixed(2)),
    };
  } finally {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
    await server.close();
    await consumers.close();
    await hub.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (values.role === 'clients') {
    await clients(values.url!, values.mode as Mode);
    return;
  }
  const rate = Number(values.rate ?? 1000);
  const seconds = Number(values.seconds ?? 5);
  const store = values.store ?? 'memory';
  if (store !== 'memory' && store !== 'sqlite')
    throw new Error(`--store must be memory or sqlite, got "${store}"`);
  const results: Figures[] = [];
  for (const mode of ['sse', 'acked'] as const) results.push(await runOne(mode, rate, seconds, store));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  process.stdout.write(`N = ${N} subscribers, ${rate} events/s for ${seconds} s, positions in ${store}\n`);
  process.stdout.write('mode     delivered/s   delivered/expected   acknowledged   p50 ms   p99 ms\n');
  for (const r of results) {
    process.stdout.write(
      `${(r.mode === 'sse' ? 'SSE' : 'acked').padEnd(8)} ${String(r.eventsPerSecond).padStart(11)}   ${`${r.delivered}/${r.published * r.n}`.padStart(18)}   ${String(r.acknowledged ?? '-').padStart(12)}   ${String(r.p50Ms).padStart(6)}   ${String(r.p99Ms).padStart(6)}\n`,
    );
  }
}

main().catch((error) => {
  process.stderr.write(`ack bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
