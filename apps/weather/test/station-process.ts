import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartedProcess, startProcess } from '@corbel/testing';

const station = new URL('../src/station.ts', import.meta.url).pathname;

/**
 * Runs `station.ts` as its own process with `args`, exactly as
 * `npm run weather:station -- <args>` does, and waits for its
 * `listening on <url>` line (the URL is `ready`).
 */
export function spawnStation(args: string[], timeoutMs = 60_000): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', station, ...args],
    {
      ready: /listening on (\S+)/,
      timeoutMs,
    },
  );
}

export interface StationProcess extends StartedProcess {
  url: string;
  dataDir: string;
}

/**
 * Starts `station.ts` as its own process, exactly as `npm run weather:station`
 * does, and removes its data directory when disposed (unless one was given).
 */
export async function startStationProcess(
  args: string[] = [],
  opts: { dataDir?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<StationProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'corbel-station-'));
  const hasPort = args.includes('--port');
  const proc = await startProcess(
    process.execPath,
    [
      '--conditions=@corbel/source',
      '--import',
      'tsx',
      station,
      ...(hasPort ? [] : ['--port', '0']),
      '--data',
      dataDir,
      ...args,
    ],
    { ready: /listening on (\S+)/, env: opts.env },
  );
  const dispose = proc[Symbol.asyncDispose];
  return Object.assign(proc, {
    url: proc.ready,
    dataDir,
    [Symbol.asyncDispose]: async () => {
      await dispose();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
