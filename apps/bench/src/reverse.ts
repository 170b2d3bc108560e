/**
 * Reverse calls, measured against a forward command in the same run: the
 * server (its own process) calls a handler on a client (this process) over
 * the client's event link, and the answer comes back as a command.
 * - round trip p50/p99: `bench.echo` as a forward command (client → server), and as a
 *   reverse call (server → client → server, timed on the server), one at a time;
 * - calls/s to one client with 256 in flight;
 * - one call fanned out to 1,000 clients (one process holding 1,000 sessions and streams).
 *
 * Run: node --conditions=@corbel/source --import tsx apps/bench/src/reverse.ts [--quick] [--json]
 */

import { spawn } from 'node:child_process';
import { createCorbelClient, type HandlerEndpoint, serveHandlers } from '@corbel/client';
import { benchHandlers, type ReverseBenchRouter } from './servers/reverse-server.js';
import { percentile } from './stats.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const ROUND_TRIPS = quick ? 500 : 2000;
const THROUGHPUT_CALLS = quick ? 2000 : 10_000;
const FANOUT_CLIENTS = 1000;
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

const serverEntry = new URL('./servers/reverse-server.ts', import.meta.url).pathname;
const child = spawn(process.execPath, ['--conditions=@corbel/source', '--import', 'tsx', serverEntry], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => child.kill('SIGTERM'));
const url = await new Promise<string>((resolve, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error('the bench server did not start in 30 s')), 30_000);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    const m = /listening on (\S+)/.exec(text);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]!);
    }
  });
});
const client = createCorbelClient<ReverseBenchRouter>({ url, timeoutMs: 120_000 });
const serve = (): HandlerEndpoint<typeof benchHandlers> =>
  serveHandlers(client, { handlers: benchHandlers, implementations: { 'bench.echo': (input) => input } });

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
};
const fmt = (n: number) => n.toFixed(2);

// Warm both paths up.
const one = serve();
await one.ready;
for (let i = 0; i < 200; i++) await client.bench.echo.mutate({ n: i });
await client.bench.reverse.mutate({ session: one.ref!, n: 200, concurrency: 1 });

const forward: number[] = [];
for (let i = 0; i < ROUND_TRIPS; i++) {
  const t0 = performance.now();
  await client.bench.echo.mutate({ n: i });
  forward.push(performance.now() - t0);
}
const reverse = await client.bench.reverse.mutate({ session: one.ref!, n: ROUND_TRIPS, concurrency: 1 });
const f = stats(forward);
const r = stats(reverse.latencies);
say(`round trip, ${ROUND_TRIPS} one at a time (ms):`);
say(`  forward command  p50 ${fmt(f.p50)}  p99 ${fmt(f.p99)}`);
say(`  reverse call     p50 ${fmt(r.p50)}  p99 ${fmt(r.p99)}`);

const burst = await client.bench.reverse.mutate({ session: one.ref!, n: THROUGHPUT_CALLS, concurrency: 256 });
const callsPerSec = THROUGHPUT_CALLS / (burst.totalMs / 1000);
say(`reverse calls/s to one client (256 in flight, ${THROUGHPUT_CALLS} calls): ${Math.round(callsPerSec)}`);

const fleet: HandlerEndpoint<typeof benchHandlers>[] = [];
for (let i = 0; i < FANOUT_CLIENTS - 1; i += 100) {
  const wave = Array.from({ length: Math.min(100, FANOUT_CLIENTS - 1 - i) }, serve);
  await Promise.all(wave.map((e) => e.ready));
  fleet.push(...wave);
}
const fanouts: { ms: number; ok: number; failed: number }[] = [];
for (let i = 0; i < (quick ? 3 : 5); i++) fanouts.push(await client.bench.fanout.mutate());
const fanMs = fanouts.map((x) => x.ms).sort((a, b) => a - b);
say(
  `one call fanned out to ${FANOUT_CLIENTS} clients: median ${fmt(fanMs[fanMs.length >> 1]!)} ms over ${fanouts.length} runs (answered ${fanouts.map((x) => x.ok).join('/')}, failed ${fanouts.map((x) => x.failed).join('/')})`,
);

if (json) {
  process.stdout.write(
    `${JSON.stringify({ forward: f, reverse: r, callsPerSec, fanout: { clients: FANOUT_CLIENTS, ms: fanMs, runs: fanouts } })}\n`,
  );
}
for (const e of [one, ...fleet]) e.close();
process.exit(0);
