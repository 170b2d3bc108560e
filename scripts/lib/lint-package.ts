import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './pack-packages.js';

/**
 * publint (package.json, exports, files) and @arethetypeswrong/cli (types
 * resolve for Node ESM and bundlers) on one packed tarball. Returns the
 * problems each tool printed; empty when both pass.
 */
export function lintPackedPackage(tarball: string): string[] {
  const problems: string[] = [];
  const checks: [string, string[]][] = [
    ['publint', ['run', tarball, '--strict', '--level', 'warning']],
    // ESM only, by choice (README, "Packages"): CommonJS resolution rows are not errors.
    ['attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-emoji', '--no-color']],
  ];
  for (const [tool, args] of checks) {
    try {
      execFileSync(join(REPO_ROOT, 'node_modules/.bin', tool), args, {
        cwd: REPO_ROOT,
        stdio: 'pipe',
        encoding: 'utf8',
      });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      problems.push(`${tool}: ${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
  return problems;
}
