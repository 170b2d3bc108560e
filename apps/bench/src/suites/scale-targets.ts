import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '@corbel/testing/process';
import superjson from 'superjson';
import { endsWithBench, startChild } from '../child.js';
import { type Paced, paced } from '../paced.js';

/** A server process the scale check subscribes to and publishes through. */
export interface ScaleTarget {
  /** What subscribers open. */
  url: string;
  /** The event field the subscribers read the publish time from. */
  stampField: 'at' | 'sentAt';
  stats(): Promise<{ cpuMs: number; rss: number }>;
  /** A full GC where the target can be asked for one. */
  gc(): Promise<void>;
  /** Publishes at `perSec` for `durationMs` (see paced.ts); resolves with what it managed. */
  pace(perSec: number, durationMs: number): Promise<Paced>;
  stop(): Promise<void>;
}

const stationEntry = new URL('../../../weather/src/station.ts', import.meta.url).pathname;

/**
 * The real weather station, as `npm run weather:station -- --port 0 --data <dir>`
 * starts it (SQLite store, its own limits), with readings reported over HTTP
 * (`weather.report`) and read on `weather.readings`; the publish time is the
 * reading's `at`, set by the station when it takes the report.
 */
export async function stationTarget(): Promise<ScaleTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'corbel-scale-'));
  // `npm run bench -- --profile <dir>` profiles the station too.
  const profileDir = process.env.CORBEL_BENCH_PROFILE;
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, 'scale-station')}`] : [];
  const proc = await startProcess(
    process.execPath,
    ['--import', 'tsx', ...profiling, stationEntry, '--port', '0', '--data', dataDir],
    // As the bench's own server processes run (child.ts).
    { ready: /listening on (\S+)/, timeoutMs: 60_000, env: { NODE_ENV: 'production' } },
  );
  endsWithBench(proc.child);
  const base = proc.ready;
  const pid = proc.child.pid!;
  const input = encodeURIComponent(JSON.stringify(superjson.serialize({})));
  let published = 0;
  const report = async (n: number) => {
    const res = await fetch(`${base}/rpc/weather.report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(superjson.serialize({ city: `Scale ${n % 10}`, celsius: n % 40 })),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`weather.report answered ${res.status}`);
  };
  return {
    url: `${base}/rpc/weather.readings?input=${input}`,
    stampField: 'at',
    stats: async () => procStats(pid),
    gc: async () => {},
    pace: (perSec, durationMs) => paced(perSec, durationMs, () => report(++published)),
    async stop() {
      // A profiled station writes its profile on the way out: give it time to.
      await proc.stop('SIGTERM', profileDir ? 60_000 : 10_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Raw node:http SSE (servers/fanout-server.ts --kind raw): what this machine allows. */
export async function rawTarget(): Promise<ScaleTarget> {
  const { child, ready } = await startChild('./servers/fanout-server.ts', ['--kind', 'raw'], {
    profile: 'scale-raw',
  });
  return {
    url: `${ready.url}${ready.path}`,
    stampField: 'sentAt',
    stats: () => child.call('stats'),
    gc: () => child.call('gc'),
    pace: (perSec, durationMs) => child.call('pace', { perSec, durationMs }, durationMs + 120_000),
    stop: () => child.stop(),
  };
}

// Linux's clock ticks per second for /proc/<pid>/stat (USER_HZ): 100 on every
// mainstream architecture.
const TICKS_PER_SECOND = 100;

/** CPU time (ms) and resident memory (bytes) of another process, from /proc. */
function procStats(pid: number): { cpuMs: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { cpuMs: (ticks * 1000) / TICKS_PER_SECOND, rss: rssKb * 1024 };
}
