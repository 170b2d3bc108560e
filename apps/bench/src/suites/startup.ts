import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from '../stats.js';

const CORBEL_BIN = fileURLToPath(new URL('../../../../packages/cli/bin/corbel.js', import.meta.url));

export interface StartupResult {
  runs: number;
  /** Median wall time of `node -e 0`: the floor of any Node command. */
  nodeMs: number;
  /** Median wall time of `corbel --version`, the built CLI as installed. */
  cliVersionMs: number;
  /** Median wall time of `corbel --help`. */
  cliHelpMs: number;
}

function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  const res = spawnSync(process.execPath, args, {
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (res.status !== 0) throw new Error(`node ${args.join(' ')} exited ${res.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * CLI start-up: `corbel --version` and `--help` (the built bin, no tsx)
 * against `node -e 0`, interleaved, median of `runs` each.
 */
export function runStartup(runs: number): StartupResult {
  const node: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  wallMs([CORBEL_BIN, '--version']); // the first run warms the file cache
  for (let i = 0; i < runs; i++) {
    node.push(wallMs(['-e', '0']));
    version.push(wallMs([CORBEL_BIN, '--version']));
    help.push(wallMs([CORBEL_BIN, '--help']));
  }
  return { runs, nodeMs: median(node), cliVersionMs: median(version), cliHelpMs: median(help) };
}
