/**
 * Instructions per command, counted by valgrind (callgrind) in each command
 * contender's server process: a figure that the machine's drifting speed
 * does not move. On this machine req/s of the same server swings by a
 * quarter between runs a minute apart, so a change worth 3 % cannot be seen
 * in req/s; its instruction count can.
 *
 *   npm run bench:instructions -- [--kinds corbel,floor] [--requests 2500,7500] [--connections 10]
 *
 * Each contender (built code, as in the bench) serves the first count of
 * requests in one process under valgrind and the second count in another;
 * the difference, divided by the difference in requests, is what one more
 * command costs once start-up and V8's warm-up are behind it (both are in
 * both runs). Runs two processes at a time; about 5 minutes for two
 * contenders. Needs valgrind (`apt-get install valgrind`).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startProcess } from '@corbel/testing/process';
import { type Counted, collectedInstructions, perCommand } from './instruction-count.js';
import { keepAliveLoad } from './keep-alive-load.js';
import { inLanes } from './lanes.js';
import { COMMAND_KINDS } from './servers/command-contenders.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER = fileURLToPath(new URL('./servers/counted-server.ts', import.meta.url));
const BODY = JSON.stringify({ json: { a: 20, b: 22 } });

async function count(kind: string, requests: number, connections: number): Promise<Counted> {
  const server = await startProcess(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      // V8 writes and rewrites machine code: valgrind must notice.
      '--smc-check=all-non-file',
      process.execPath,
      '--import',
      'tsx',
      SERVER,
      kind,
    ],
    // Start-up under valgrind takes a minute or more.
    { ready: /listening (\S+)/, timeoutMs: 600_000, cwd: ROOT, env: { NODE_ENV: 'production' } },
  );
  try {
    const failed = await keepAliveLoad(server.ready, BODY, requests, connections);
    if (failed > 0) throw new Error(`${kind}: ${failed} of ${requests} commands were not answered 200`);
  } finally {
    await server.stop('SIGTERM', 300_000);
  }
  const instructions = collectedInstructions(server.lines.join('\n'));
  if (instructions === undefined) {
    throw new Error(`${kind}: valgrind printed no total:\n${server.lines.slice(-20).join('\n')}`);
  }
  return { kind, requests, instructions };
}

async function main() {
  const { values } = parseArgs({
    options: {
      kinds: { type: 'string', default: 'corbel,floor' },
      requests: { type: 'string', default: '2500,7500' },
      connections: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench:instructions -- [--kinds corbel,floor] [--requests 2500,7500] [--connections 10]\n' +
        `  kinds: ${COMMAND_KINDS.join(', ')} (built code; the ratio is against floor when it is among them)\n`,
    );
    return;
  }
  const kinds = values.kinds.split(',');
  const unknown = kinds.filter((k) => !(COMMAND_KINDS as readonly string[]).includes(k));
  if (unknown.length)
    throw new Error(`unknown kind ${unknown.join(', ')}; one of ${COMMAND_KINDS.join(', ')}`);
  const counts = values.requests.split(',').map(Number);
  if (counts.length !== 2 || counts.some((n) => !Number.isInteger(n) || n < 1) || counts[0] === counts[1]) {
    throw new Error('--requests takes two different positive counts, e.g. 2500,7500');
  }
  const connections = Number(values.connections);
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind not found: install it (apt-get install valgrind)');
  }
  const jobs = kinds.flatMap((kind) =>
    counts.map((n) => async () => {
      const started = Date.now();
      const c = await count(kind, n, connections);
      process.stderr.write(
        `${kind}, ${n} commands: ${c.instructions.toLocaleString('en-US')} instructions (${Math.round((Date.now() - started) / 1000)} s)\n`,
      );
      return c;
    }),
  );
  const rows = perCommand(await inLanes(jobs.length, 2, (i) => jobs[i]!()));
  const floor = rows.find((r) => r.kind === 'floor');
  process.stdout.write(
    `\n### Instructions per command (callgrind; ${counts.join(' → ')} commands, ${connections} connections)\n` +
      '| server | instructions per command | ÷ floor |\n|---|---|---|\n',
  );
  for (const r of rows) {
    const vsFloor = floor ? `${(r.instructionsPerCommand / floor.instructionsPerCommand).toFixed(2)}×` : '—';
    process.stdout.write(
      `| ${r.kind} | ${Math.round(r.instructionsPerCommand).toLocaleString('en-US')} | ${vsFloor} |\n`,
    );
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
