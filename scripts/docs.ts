/**
 * `npm run docs`: writes proto-docs/services/<service>.md and
 * <service>.contract.json for every app in scripts/services.ts.
 * `npm run docs -- --check` writes nothing and exits 1 when a file is stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceDocs } from './service-docs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, text] of await serviceDocs()) {
  const path = join(root, file);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) {
    process.stdout.write(`up to date  ${file}\n`);
    continue;
  }
  if (check) {
    stale++;
    process.stdout.write(`stale       ${file}\n`);
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote       ${file}\n`);
}
if (stale > 0) {
  process.stderr.write(`${stale} generated file(s) are stale: run npm run docs and commit the result\n`);
  process.exit(1);
}
