import { execFileSync } from 'node:child_process';

/**
 * Vitest global setup: builds the packages (tsc -b, incremental: a no-op when
 * dist is fresh) before any test runs, so tests that start the installed-style
 * `corbel` binary or import built code never meet a stale or missing dist/.
 */
export default function buildPackages(): void {
  const root = new URL('..', import.meta.url).pathname;
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
