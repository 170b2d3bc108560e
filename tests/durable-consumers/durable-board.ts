import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartedProcess, startProcess } from '@corbel/testing';

const boardEntry = new URL('../../apps/weather/src/board.ts', import.meta.url).pathname;
// `--import tsx` resolves from the working directory; another directory needs the loader's own path.
const tsxLoader = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/**
 * Starts the real board CLI as the durable consumer `name`, from its own
 * fresh working directory (so nothing it could keep locally is found again);
 * ready once its stream is live.
 */
export function startDurableBoard(url: string, name: string, extra: string[] = []): Promise<StartedProcess> {
  const cwd = mkdtempSync(join(tmpdir(), 'corbel-durable-board-'));
  return startProcess(
    process.execPath,
    [
      '--conditions=@corbel/source',
      '--import',
      tsxLoader,
      boardEntry,
      '--url',
      url,
      '--durable',
      name,
      ...extra,
    ],
    { ready: /-- live on (\S+)/, timeoutMs: 60_000, cwd },
  );
}

/** The cities of the reading lines a board printed, in order (`[hh:mm:ss] <city> <celsius> °C  #<id>`). */
export function printedCities(lines: readonly string[]): string[] {
  return lines.flatMap((line) => {
    const m = /^\[\d\d:\d\d:\d\d\] (\S+) \S+ °C {2}#\S+$/.exec(line);
    return m ? [m[1]!] : [];
  });
}
