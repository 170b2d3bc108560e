import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '@corbel/testing/process';
import superjson from 'superjson';
import { atRate } from '../at-rate.js';
import { startChild } from '../child.js';

/** A server process the scale check subscribes to and publishes through. */
export interface ScaleTarget {
  /** What subscribers open. */
  url: string;
  /** The event field the subscribers read the publish time from. */
  stampField: 'at' | 'sentAt';
  stats(): Promise<{ cpuMs: number; rss: number }>;
  /** A full GC where the target can be asked for one. */
  gc(): Promise<void>;
  publishAt(perSec: number): void;
  /** Stops publishing; resolves with the number of events published. */
  stopPublishing(): Promise<number>;
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
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const proc = await startProcess(
    process.execPath,
    ['--import', 'tsx', ...profiling, stationEntry, '--port', '0', '--data', dataDir],
    { ready: /listening on (\S+)/, timeoutMs: 60_000 },
  );
  const base = proc.ready;
  const pid = proc.child.pid!;
  const input = encodeURIComponent(JSON.stringify(superjson.serialize({})));
  let running = false;
  let published = 0;
  let loop: Promise<void> = Promise.resolve();
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
    publishAt(perSec) {
      running = true;
      loop = atRate(
        perSec,
        async () => {
          await report(published + 1);
          published++;
        },
        () => running,
      ).then(() => {});
    },
    async stopPublishing() {
      running = false;
      await loop;
      return published;
    },
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Raw node:http SSE (servers/fanout-server.ts --kind raw): what this machine allows. */
export async function rawTarget(): Promise<ScaleTarget> {
  const { child, ready } = await startChild('./servers/fanout-server.ts', ['--kind', 'raw']);
  return {
    url: `${ready.url}${ready.path}`,
    stampField: 'sentAt',
    stats: () => child.call('stats'),
    gc: () => child.call('gc'),
    publishAt: (perSec) => {
      void child.call('rate', { perSec });
    },
    stopPublishing: async () => (await child.call('stop')).published,
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
