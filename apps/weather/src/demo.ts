/**
 * `npm run demo`: a station and two boards as separate processes; this process
 * reports readings as a third client. Every board line is shown with its
 * board's name. Stops every process it started after ~20 s or on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCorbelClient } from '@corbel/client';
import type { WeatherRouter } from './router.js';

const DURATION_MS = Number(process.env.DEMO_DURATION_MS ?? 20_000);
const here = new URL('.', import.meta.url).pathname;
const tsx = ['--conditions=@corbel/source', '--import', 'tsx'];
const children: ChildProcess[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'corbel-demo-'));

function run(name: string, script: string, args: string[], onLine?: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [...tsx, join(here, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        process.stdout.write(`${name.padEnd(8)}| ${line}\n`);
        onLine?.(line);
      }
    });
  }
  return child;
}

async function stopAll() {
  // Boards first, so the station's drain is not shown as a reconnect.
  const stopGroup = (group: ChildProcess[]) =>
    Promise.all(
      group.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          }),
      ),
    );
  await stopGroup(children.slice(1));
  await stopGroup(children.slice(0, 1));
  rmSync(dataDir, { recursive: true, force: true });
}

async function main() {
  console.log(
    `demo: a station and two boards for ${Math.round(DURATION_MS / 1000)} s (Ctrl-C to stop sooner)\n`,
  );
  const url = await new Promise<string>((resolve, reject) => {
    const station = run('station', 'station.ts', ['--port', '0', '--data', dataDir], (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    station.once('exit', (code) => reject(new Error(`station exited early (${code})`)));
  });
  let live = 0;
  const boardsLive = new Promise<void>((resolve) => {
    const onLine = (line: string) => {
      if (line.startsWith('-- live') && ++live === 2) resolve();
    };
    run('board A', 'board.ts', ['--url', url], onLine);
    run('board B', 'board.ts', ['--url', url, '--city', 'Oslo'], onLine);
  });
  await Promise.race([boardsLive, new Promise((r) => setTimeout(r, 15_000))]);

  const client = createCorbelClient<WeatherRouter>({ url });
  const cities = ['Oslo', 'Boston', 'Lagos', 'Oslo', 'Quito'];
  const started = Date.now();
  let i = 0;
  while (Date.now() - started < DURATION_MS - 3000 && !stopping) {
    const city = cities[i % cities.length]!;
    const celsius = Math.round((Math.sin(i) * 15 + 10) * 10) / 10;
    const { id } = await client.weather.report.mutate({ city, celsius });
    process.stdout.write(`reporter| reported ${city} ${celsius} °C -> #${id}\n`);
    i++;
    await new Promise((r) => setTimeout(r, 1500));
  }
  await new Promise((r) => setTimeout(r, 1500));
}

let stopping = false;
const finish = async (code: number) => {
  if (stopping) return;
  stopping = true;
  const pids = children.map((c) => c.pid).join(', ');
  await stopAll();
  console.log(`\ndemo: stopped every process it started (pids ${pids})`);
  process.exit(code);
};
process.on('SIGINT', () => void finish(0));
process.on('SIGTERM', () => void finish(0));
main().then(
  () => finish(0),
  (error) => {
    console.error(`demo: ${error instanceof Error ? error.message : error}`);
    void finish(1);
  },
);
