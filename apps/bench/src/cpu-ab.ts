/**
 * Server CPU time per command of two command servers measured side by side:
 * both up at once and loaded at the same time, round after round, so the
 * machine's drifting speed slows both alike. The figure is B ÷ A per round,
 * its median and range. On this machine its median resolves about 2–3 % (the
 * same build on both sides: 0.983, rounds 0.91–1.04), where req/s of one
 * server after the other swings by a quarter. For checking one change to the serving path, beside
 * `npm run bench:instructions`.
 *
 *   npm run build   # in both repositories
 *   node --import tsx apps/bench/src/cpu-ab.ts --a <repo>:corbel --b <other repo>:corbel [--rounds 12] [--commands 5000] [--connections 10] [--json]
 *
 * A side is a repository (its packages' dist/) and a kind: `corbel` or
 * `floor` (raw node:http around tRPC's procedure call). Each round sends
 * `commands` zod-validated `add` mutations to each server over `connections`
 * keep-alive connections, both at once. Swap A and B to see the harness's own
 * bias (none seen here, within the 2–3 %).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchChild, startChild } from './child.js';
import { keepAliveLoad } from './keep-alive-load.js';
import { median, type Spread, spread } from './stats.js';

export interface CpuAbResult {
  a: { side: string; usPerCall: number };
  b: { side: string; usPerCall: number };
  /** B ÷ A CPU per call, per round. */
  ratios: number[];
  ratio: Spread;
}

const BODY = JSON.stringify({ json: { a: 20, b: 22 } });

interface Side {
  spec: string;
  child: BenchChild;
  url: string;
  path: string;
}

async function startSide(spec: string): Promise<Side> {
  const at = spec.lastIndexOf(':');
  if (at <= 0) throw new Error(`"${spec}": give <repository>:<corbel|floor>`);
  const { child, ready } = await startChild('./servers/cpu-ab-server.ts', [
    '--root',
    spec.slice(0, at),
    '--kind',
    spec.slice(at + 1),
  ]);
  return { spec, child, url: ready.url, path: ready.path };
}

/** Sends `total` commands to one side; throws when any is not answered 200. */
async function load(side: Side, total: number, connections: number): Promise<void> {
  const failed = await keepAliveLoad(`${side.url}${side.path}`, BODY, total, connections);
  if (failed) throw new Error(`${side.spec}: ${failed} of ${total} commands failed`);
}

const cpuUs = (side: Side): Promise<number> => side.child.call('cpu');

/** Measures A and B side by side (see the file's comment). */
export async function cpuAb(opts: {
  a: string;
  b: string;
  rounds: number;
  commands: number;
  connections: number;
}): Promise<CpuAbResult> {
  const sides: Side[] = [];
  try {
    sides.push(await startSide(opts.a), await startSide(opts.b));
    const [a, b] = sides as [Side, Side];
    // Warm-up: V8 compiles the hot path before anything is counted.
    await Promise.all([load(a, opts.commands, opts.connections), load(b, opts.commands, opts.connections)]);
    const perCall: [number[], number[]] = [[], []];
    for (let round = 0; round < opts.rounds; round++) {
      const before = await Promise.all([cpuUs(a), cpuUs(b)]);
      await Promise.all([load(a, opts.commands, opts.connections), load(b, opts.commands, opts.connections)]);
      const after = await Promise.all([cpuUs(a), cpuUs(b)]);
      perCall[0].push((after[0] - before[0]) / opts.commands);
      perCall[1].push((after[1] - before[1]) / opts.commands);
    }
    const ratios = perCall[1].map((us, i) => us / perCall[0][i]!);
    return {
      a: { side: opts.a, usPerCall: median(perCall[0]) },
      b: { side: opts.b, usPerCall: median(perCall[1]) },
      ratios,
      ratio: spread(ratios),
    };
  } finally {
    await Promise.all(sides.map((s) => s.child.stop()));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      rounds: { type: 'string', default: '12' },
      commands: { type: 'string', default: '5000' },
      connections: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.a || !values.b) {
    console.log(
      'usage: node --import tsx apps/bench/src/cpu-ab.ts --a <repo>:<corbel|floor> --b <repo>:<corbel|floor> [--rounds 12] [--commands 5000] [--connections 10] [--json]',
    );
    process.exit(values.help ? 0 : 2);
  }
  const result = await cpuAb({
    a: values.a,
    b: values.b,
    rounds: Number(values.rounds),
    commands: Number(values.commands),
    connections: Number(values.connections),
  });
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    const f = (n: number) => n.toFixed(3);
    console.log(
      `A ${result.a.side}: ${result.a.usPerCall.toFixed(1)} µs CPU per command (median of ${result.ratios.length} rounds)`,
    );
    console.log(`B ${result.b.side}: ${result.b.usPerCall.toFixed(1)} µs CPU per command`);
    console.log(
      `B ÷ A: ${f(result.ratio.median)} (${f(result.ratio.min)}–${f(result.ratio.max)} over ${result.ratios.length} rounds)`,
    );
  }
}
