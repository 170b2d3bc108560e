import { type StartedProcess, startProcess } from '@corbel/testing';

const boardEntry = new URL('../../apps/weather/src/board.ts', import.meta.url).pathname;

/** Starts the real board CLI against `url` with `--transport`; ready once it says it is live. */
export function startBoardWith(
  url: string,
  transport: 'auto' | 'sse' | 'long-poll',
): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    ['--conditions=@corbel/source', '--import', 'tsx', boardEntry, '--url', url, '--transport', transport],
    { ready: /-- live on (\S+)/, timeoutMs: 60_000 },
  );
}
