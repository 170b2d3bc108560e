/**
 * `npm run check:packages`: packs every published package (as `npm publish`
 * would) and checks the tarballs: publint (package.json, exports, files) and
 * @arethetypeswrong/cli (types resolve for Node ESM and bundlers). Prints each
 * tarball's size and file count. Exits 1 on any error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packPackages, REPO_ROOT } from './lib/pack-packages.js';

const out = mkdtempSync(join(tmpdir(), 'corbel-pack-'));
let failed = 0;
try {
  for (const pkg of packPackages(out)) {
    console.log(`${pkg.name}: ${(pkg.bytes / 1024).toFixed(1)} KiB packed, ${pkg.files.length} files`);
    const bin = (tool: string) => join(REPO_ROOT, 'node_modules/.bin', tool);
    for (const [tool, args] of [
      ['publint', ['run', pkg.tarball, '--strict', '--level', 'warning']],
      // ESM only, by choice (see the README's "Packages" section): the
      // CommonJS-resolution rows are not errors for this package.
      ['attw', [pkg.tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-emoji', '--no-color']],
    ] as const) {
      try {
        execFileSync(bin(tool), args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      } catch (error) {
        failed++;
        const e = error as { stdout?: string; stderr?: string };
        console.error(`${pkg.name}: ${tool} failed\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      }
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (failed > 0) {
  console.error(`check:packages: ${failed} check(s) failed`);
  process.exit(1);
}
console.log('check:packages: publint and attw found no problems');
