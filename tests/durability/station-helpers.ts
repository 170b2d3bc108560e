import { openSse, queryInput, type SseConnection, type StartedProcess, startProcess } from '@corbel/testing';
import superjson from 'superjson';
import { spawnStation } from '../../apps/weather/test/station-process.js';

/** Starts the real station CLI on `dataDir` (and `port`, so clients can come back to the same URL). */
export function startStation(dataDir: string, port = 0, extra: string[] = []): Promise<StartedProcess> {
  return spawnStation(['--port', String(port), '--data', dataDir, ...extra]);
}

/** The port of a `http://127.0.0.1:<port>` URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

export interface Reading {
  city: string;
  celsius: number;
  at: Date;
}

/** Opens a raw SSE stream of weather.readings, resuming after `lastEventId` when given. */
export function openReadings(url: string, lastEventId?: string): Promise<SseConnection> {
  return openSse(
    `${url}/rpc/weather.readings?${queryInput({})}`,
    lastEventId ? { 'last-event-id': lastEventId } : {},
  );
}

/** Decodes a data frame of weather.readings. */
export function readingOf(data: string): Reading {
  return superjson.parse(data) as Reading;
}

/** Reports one reading over plain HTTP; resolves with its id once acknowledged, or null if it failed. */
export async function report(url: string, city: string, celsius: number): Promise<string | null> {
  try {
    const res = await fetch(`${url}/rpc/weather.report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(superjson.serialize({ city, celsius })),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) return null;
    const json = (await res.json()) as any;
    return (superjson.deserialize(json.result.data) as { id: string }).id;
  } catch {
    return null;
  }
}

const boardEntry = new URL('../../apps/weather/src/board.ts', import.meta.url).pathname;

/** Starts the real board CLI against `url`; ready once its stream is live. */
export function startBoard(url: string): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', boardEntry, '--url', url],
    { ready: /-- live on (\S+)/, timeoutMs: 60_000 },
  );
}

/** The ids of the reading lines a board printed, in order (`… #<id>`). */
export function boardReadingIds(lines: readonly string[]): string[] {
  return lines.flatMap((line) => {
    const m = /^\[\d\d:\d\d:\d\d\] .* #(\S+)$/.exec(line);
    return m && m[1] !== 'latest' ? [m[1]!] : [];
  });
}

export { until } from '@corbel/testing';
