#!/usr/bin/env node
// The `corbel` command. A published install runs the built dist/main.js. In
// this repository (no dist) it runs the TypeScript source in this same
// process: tsx compiles it, and source-condition.js adds the @corbel/source
// export condition so workspace packages resolve to their sources too.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/main.js', import.meta.url);
const built = existsSync(fileURLToPath(dist));
if (!built) {
  register('./source-condition.js', import.meta.url);
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
}
const { main } = await import((built ? dist : new URL('../src/main.ts', import.meta.url)).href);
process.exit(await main(process.argv));
