/**
 * Scale-out figures: three weather stations on one Redis (real processes) with
 * N subscribers each, against one SQLite station with the same 3×N
 * subscribers. Prints events/s delivered (summed over subscribers, publisher
 * at saturation) and publish→receive latency p50/p99 at a fixed rate.
 *
 *   node --conditions=@corbel/source --import tsx apps/bench/src/redis-fanout.ts [--subscribers 50] [--seconds 5] [--rate 20] [--persistence aof|none] [--instances 3] [--json]
 *
 * Subscribers and publishers share this process (raw SSE over node:http, no
 * EventSource); stations and redis-server run in their own processes. On a
 * small machine everything competes for the same cores: read the figures as
 * a comparison between the two set-ups, not as absolute capacity. The
 * latency rate defaults to 20 events/s: at 150 subscribers that is 3,000
 * deliveries/s, well under what this one load process can parse; at 100/s it
 * would measure this process' own queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type StartedProcess, startProcess } from '@corbel/testing/process';
import { startRedisServer } from '@corbel/testing/redis-server';
import superjson from 'superjson';

const stationEntry = new URL('../../weather/src/station.ts', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startStation(args: string[]): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', stationEntry, '--port', '0', ...args],
    { ready: /listening on (\S+)/, timeoutMs: 60_000 },
  );
}

interface Load {
  delivered: number;
  /** Send time per latency-probe city, and the latencies seen so far. */
  sent: Map<string, number>;
  latencies: number[];
}

/** Opens one raw SSE subscriber on weather.readings; resolves once the stream is connected. */
function subscribe(url: string, load: Load, localAddress: string): Promise<() => void> {
  const input = encodeURIComponent(JSON.stringify(superjson.serialize({})));
  return new Promise((resolve, reject) => {
    const req = request(`${url}/rpc/weather.readings?input=${input}`, { localAddress }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream refused: ${res.statusCode}`));
      res.setEncoding('utf8');
      let buf = '';
      let connected = false;
      res.on('data', (chunk: string) => {
        buf += chunk;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          end = buf.indexOf('\n\n');
          if (!connected && frame.includes('event: connected')) {
            connected = true;
            resolve(() => req.destroy());
          }
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data || frame.includes('event: ')) continue;
          load.delivered++;
          const city = (JSON.parse(data.slice(6)) as { json: { city: string } }).json.city;
          const at = load.sent.get(city);
          if (at !== undefined) load.latencies.push(performance.now() - at);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The stations run with their default per-identity limits, and without auth
 * an identity is the client address: each subscriber group and publisher uses
 * its own loopback address (127.0.0.0/8 all reaches lo), as separate client
 * machines would.
 */
function loopback(group: number, index: number): string {
  return `127.${group}.${Math.floor(index / 250)}.${(index % 250) + 2}`;
}

/** One keep-alive agent per publisher address. */
const agents = new Map<string, Agent>();

function report(url: string, city: string, localAddress = '127.0.0.1'): Promise<void> {
  let agent = agents.get(localAddress);
  if (!agent) {
    agent = new Agent({ keepAlive: true, localAddress } as any);
    agents.set(localAddress, agent);
  }
  const body = JSON.stringify(superjson.serialize({ city, celsius: 1 }));
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/rpc/weather.report`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`report refused: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Figures {
  setup: string;
  instances: number;
  subscribers: number;
  publishedPerSec: number;
  deliveredPerSec: number;
  latencyRate: number;
  p50Ms: number;
  p99Ms: number;
  missing: number;
}

async function measure(
  setup: string,
  urls: string[],
  perUrl: number,
  seconds: number,
  rate: number,
): Promise<Figures> {
  const load: Load = { delivered: 0, sent: new Map(), latencies: [] };
  const closers: (() => void)[] = [];
  // 25 streams per client address, under the default 32 per identity.
  for (const url of urls)
    for (let i = 0; i < perUrl; i++)
      closers.push(await subscribe(url, load, loopback(1, Math.floor(closers.length / 25))));
  const subscribers = closers.length;
  try {
    // Warm-up.
    for (let i = 0; i < 20; i++) await report(urls[i % urls.length]!, `warm-${i}`);
    await sleep(500);

    // Saturation: 16 publishers in a loop, spread over the instances.
    let published = 0;
    let stop = false;
    const publishers = Array.from({ length: 16 }, async (_, p) => {
      for (let k = 0; !stop; k++) {
        await report(urls[(p + k) % urls.length]!, `sat-${p}-${k}`, loopback(2, p));
        published++;
      }
    });
    await sleep(500);
    const d0 = load.delivered;
    const p0 = published;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const d1 = load.delivered;
    const p1 = published;
    const t1 = performance.now();
    stop = true;
    await Promise.all(publishers);
    const target = load.delivered + 0; // let the backlog drain before the latency phase
    for (let i = 0; i < 100 && load.delivered < published * subscribers + 20 * subscribers; i++)
      await sleep(100);
    void target;

    // Latency at a fixed rate, one probe city per event.
    const count = Math.max(20, Math.round(rate * seconds));
    const started = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const city = `L${i}`;
      load.sent.set(city, performance.now());
      pending.push(report(urls[i % urls.length]!, city, loopback(3, i % 16)));
    }
    await Promise.all(pending);
    const expected = count * subscribers;
    for (let i = 0; i < 100 && load.latencies.length < expected; i++) await sleep(50);
    const sorted = [...load.latencies].sort((a, b) => a - b);
    return {
      setup,
      instances: urls.length,
      subscribers,
      publishedPerSec: Math.round(((p1 - p0) * 1000) / (t1 - t0)),
      deliveredPerSec: Math.round(((d1 - d0) * 1000) / (t1 - t0)),
      latencyRate: rate,
      p50Ms: Number(percentile(sorted, 50).toFixed(2)),
      p99Ms: Number(percentile(sorted, 99).toFixed(2)),
      missing: expected - load.latencies.length,
    };
  } finally {
    for (const close of closers) close();
    for (const agent of agents.values()) agent.destroy();
    agents.clear();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '20' },
      persistence: { type: 'string', default: 'aof' },
      instances: { type: 'string', default: '3' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const perInstance = Number(values.subscribers);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const instances = Math.max(1, Number(values.instances));
  const results: Figures[] = [];
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  {
    const persistence = values.persistence === 'none' ? 'none' : 'aof';
    await using redis = await startRedisServer({ persistence });
    const stations: StartedProcess[] = [];
    try {
      for (let i = 0; i < instances; i++) stations.push(await startStation(['--redis', redis.url]));
      progress(`redis: ${instances} stations × ${perInstance} subscribers…`);
      results.push(
        await measure(
          persistence === 'aof' ? 'redis (AOF, fsync always)' : 'redis (no persistence)',
          stations.map((s) => s.ready),
          perInstance,
          seconds,
          rate,
        ),
      );
    } finally {
      for (const s of stations) await s.stop();
    }
  }
  {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-bench-sqlite-'));
    try {
      await using station = await startStation(['--data', dir]);
      progress(`sqlite: 1 station × ${instances * perInstance} subscribers…`);
      results.push(
        await measure('sqlite (synchronous=NORMAL)', [station.ready], instances * perInstance, seconds, rate),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ cores: availableParallelism(), loadAverage: loadavg()[0], results }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(
    `redis fan-out (${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}; ${seconds} s saturation; latency at ${rate} events/s)\n`,
  );
  process.stdout.write(
    'setup                          inst  subs  published/s  delivered/s  p50 ms  p99 ms  missing\n',
  );
  for (const r of results) {
    process.stdout.write(
      `${r.setup.padEnd(30)} ${String(r.instances).padStart(4)}  ${String(r.subscribers).padStart(4)}  ${String(r.publishedPerSec).padStart(11)}  ${String(r.deliveredPerSec).padStart(11)}  ${String(r.p50Ms).padStart(6)}  ${String(r.p99Ms).padStart(6)}  ${String(r.missing).padStart(7)}\n`,
    );
  }
}

main().catch((error) => {
  process.stderr.write(
    `redis-fanout: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
