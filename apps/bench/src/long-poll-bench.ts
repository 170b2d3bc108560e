/**
 * Long polling next to SSE, in the same run: N subscribers (default 1,000)
 * in a child process receive events published at a fixed rate by a Corbel
 * server in this process, first over SSE, then over long polls (protocol.md
 * section 4.4); it prints delivered events/s and p50/p99 latency (publish to
 * receipt) for each. Runs from the TypeScript sources:
 *
 *   node --conditions=@corbel/source --import tsx apps/bench/src/long-poll-bench.ts [--n 1000] [--rate 50] [--seconds 10] [--json]
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { createHub } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { benchChannel, benchEvent, createBenchRouter, nowMs } from './bench-router.js';
import { BENCH_LIMITS } from './corbel-limits.js';

type Transport = 'sse' | 'long-poll';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    transport: { type: 'string' },
    url: { type: 'string' },
    n: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const N = Number(values.n ?? 1000);

/** The subscribers' side: N connections of one transport, counting events and their latency. */
async function clients(url: string, transport: Transport) {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const latencies: number[] = [];
  let received = 0;
  const take = (json: { json: { sentAt: number } }) => {
    received++;
    latencies.push(nowMs() - json.json.sentAt);
  };
  const path = `/rpc/events?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;
  let stopped = false;
  const sse = () => {
    const req = request(`${url}${path}`, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith('id: ')) take(JSON.parse(frame.slice(frame.indexOf('data: ') + 6)));
          end = buffer.indexOf('\n\n');
        }
      });
    });
    req.on('error', () => {});
    req.end();
  };
  const poll = (cursor: string | null) => {
    if (stopped) return;
    const q = `${path}&longPoll=1&wait=25000${cursor ? `&lastEventId=${cursor}` : ''}`;
    const req = request(`${url}${q}`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        let next = cursor;
        try {
          const data = JSON.parse(body).result.data;
          for (const event of data.events) take(event.data);
          next = data.lastEventId ?? cursor;
        } catch {
          // An error answer: poll again from the same id.
        }
        poll(next);
      });
    });
    req.on('error', () => setTimeout(() => poll(cursor), 100));
    req.end();
  };
  for (let i = 0; i < N; i++) {
    if (transport === 'sse') sse();
    else poll(null);
  }
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'report') return;
    stopped = true;
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    process.send?.({ type: 'report', received, p50: at(0.5), p99: at(0.99) });
    setTimeout(() => process.exit(0), 100);
  });
}

interface Figures {
  transport: Transport;
  n: number;
  published: number;
  delivered: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function runOne(transport: Transport, rate: number, seconds: number): Promise<Figures> {
  const hub = createHub();
  const server = createCorbelServer({ router: createBenchRouter(hub), limits: BENCH_LIMITS, metrics: false });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const child = fork(
    new URL(import.meta.url).pathname,
    ['--role', 'clients', '--transport', transport, '--url', url, '--n', String(N)],
    {
      execArgv: process.execArgv,
    },
  );
  try {
    // Every subscriber connected (for long polls: its first poll waiting).
    const deadline = Date.now() + 60_000;
    while (hub.stats().subscribers < N) {
      if (Date.now() > deadline)
        throw new Error(`only ${hub.stats().subscribers} of ${N} subscribers connected`);
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
    // Let the last events arrive.
    await new Promise((r) => setTimeout(r, 1500));
    const report = await new Promise<{ received: number; p50: number; p99: number }>((resolve) => {
      child.once('message', (m: any) => resolve(m));
      child.send({ type: 'report' });
    });
    return {
      transport,
      n: N,
      published,
      delivered: report.received,
      eventsPerSecond: Math.round(report.received / elapsed),
      p50Ms: Number(report.p50.toFixed(2)),
      p99Ms: Number(report.p99.toFixed(2)),
    };
  } finally {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
    await server.close();
    await hub.close();
  }
}

async function main() {
  if (values.role === 'clients') {
    await clients(values.url!, values.transport as Transport);
    return;
  }
  const rate = Number(values.rate ?? 50);
  const seconds = Number(values.seconds ?? 10);
  const results: Figures[] = [];
  for (const transport of ['sse', 'long-poll'] as const) results.push(await runOne(transport, rate, seconds));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  process.stdout.write(`N = ${N} subscribers, ${rate} events/s for ${seconds} s\n`);
  process.stdout.write('transport   delivered/s   delivered/expected   p50 ms   p99 ms\n');
  for (const r of results) {
    process.stdout.write(
      `${r.transport.padEnd(11)} ${String(r.eventsPerSecond).padStart(11)}   ${`${r.delivered}/${r.published * r.n}`.padStart(18)}   ${String(r.p50Ms).padStart(6)}   ${String(r.p99Ms).padStart(6)}\n`,
    );
  }
}

main().catch((error) => {
  process.stderr.write(`long-poll bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
