#!/usr/bin/env node
// The `corbel` command: runs the built dist/main.js, never the TypeScript
// source, so an installed CLI needs no compiler and starts fast. An unbuilt
// checkout has no dist; say so in one line instead of a module-not-found stack.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  const repo = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
  process.stderr.write(`corbel: not built — run "npm run build" in ${repo}\n`);
  process.exit(1);
}
const { main } = await import(dist.href);
process.exit(await main(process.argv));
