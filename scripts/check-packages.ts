/**
 * `npm run check:packages`: packs every published package (as `npm publish`
 * would) and checks each tarball with publint and @arethetypeswrong/cli.
 * Prints each tarball's size and file count; exits 1 on any problem. The
 * consumer test (tests/consumer) runs the same checks inside `npm test`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintPackedPackage } from './lib/lint-package.js';
import { packPackages } from './lib/pack-packages.js';

const out = mkdtempSync(join(tmpdir(), 'corbel-pack-'));
let failed = 0;
try {
  for (const pkg of packPackages(out)) {
    console.log(`${pkg.name}: ${(pkg.bytes / 1024).toFixed(1)} KiB packed, ${pkg.files.length} files`);
    for (const problem of lintPackedPackage(pkg.tarball)) {
      failed++;
      console.error(`${pkg.name}: ${problem}`);
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (failed > 0) {
  console.error(`check:packages: ${failed} problem(s)`);
  process.exit(1);
}
console.log('check:packages: publint and attw found no problems');
