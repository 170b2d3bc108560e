import { type BenchChild, startChild } from '../child.js';
import type { BenchMode } from '../modes.js';
import { type PairedRatio, pairedRatio } from '../paired-ratio.js';
import { median } from '../stats.js';

// `floor` is raw node:http around tRPC's procedure call alone: the best any
// serving path that keeps tRPC's middleware and validation can do.
// `corbel-tsx` is the same Corbel server run from its TypeScript sources under
// tsx (how the repo's own tests run it), beside the built packages users run.
// `orpc` is oRPC's node adapter on its own RPC wire.
export const COMMAND_CONTENDERS = ['corbel', 'corbel-tsx', 'trpc', 'orpc', 'raw', 'floor'] as const;
export type CommandContender = (typeof COMMAND_CONTENDERS)[number];

// The order contenders are measured in within a repetition: Corbel between
// the floor and oRPC, the peers of its req/s targets, and raw (its p99 peer)
// one further, so each pair is measured seconds apart rather than most of a
// repetition apart.
const MEASURING_ORDER: readonly CommandContender[] = ['raw', 'floor', 'corbel', 'orpc', 'trpc', 'corbel-tsx'];

/**
 * The contenders of repetition `rep` (from 1) in the order they run: every
 * other repetition in reverse, so a machine that speeds up or slows down
 * during a repetition favours neither side of a pair over the whole run.
 */
export function measuringOrder(rep: number, contenders: readonly CommandContender[]): CommandContender[] {
  const order = MEASURING_ORDER.filter((c) => contenders.includes(c));
  return rep % 2 === 1 ? order : order.reverse();
}

export interface CommandRun {
  contender: CommandContender;
  rep: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerCall: number;
  errors: number;
}

/** Paired ratios for the targets: req/s against the floor and oRPC, p99 against raw. */
export interface CommandPairs {
  rpsVsFloor?: PairedRatio | undefined;
  rpsVsOrpc?: PairedRatio | undefined;
  p99VsRaw?: PairedRatio | undefined;
}

/** Medians per contender; a contender the mode skips has no entry. */
export type CommandSummary = Partial<Record<CommandContender, Omit<CommandRun, 'contender' | 'rep'>>> &
  Record<'corbel' | 'trpc' | 'raw', Omit<CommandRun, 'contender' | 'rep'>>;

const BODY = JSON.stringify({ json: { a: 20, b: 22 } });
const EXPECTED = { result: { data: { json: { sum: 42 } } } };
// oRPC's RPC protocol takes the same `{ json }` body and answers `{ json }`.
const EXPECTED_ORPC = { json: { sum: 42 } };

/** Checks a contender answers the command correctly before it is measured. */
async function check(url: string, path: string, contender: CommandContender) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  const json = await res.json();
  const expected = contender === 'orpc' ? EXPECTED_ORPC : EXPECTED;
  if (res.status !== 200 || JSON.stringify(json) !== JSON.stringify(expected)) {
    throw new Error(`${contender} answered ${res.status} ${JSON.stringify(json)}`);
  }
}

async function runOnce(
  contender: CommandContender,
  rep: number,
  load: BenchChild,
  mode: BenchMode,
): Promise<CommandRun> {
  const kind = contender === 'corbel-tsx' ? 'corbel' : contender;
  const { child: server, ready } = await startChild('./servers/command-server.ts', ['--kind', kind], {
    profile: contender === 'corbel' || contender === 'floor' ? contender : undefined,
    source: contender === 'corbel-tsx',
  });
  try {
    await check(ready.url, ready.path, contender);
    let before: Promise<{ cpuMs: number }> | undefined;
    const onMeasuring = () => {
      before = server.call('stats');
    };
    measuringHandlers.add(onMeasuring);
    const result = await load.call('run', {
      url: ready.url,
      path: ready.path,
      body: BODY,
      connections: mode.commands.connections,
      warmupMs: mode.commands.warmupMs,
      durationMs: mode.commands.durationMs,
    });
    measuringHandlers.delete(onMeasuring);
    const after = await server.call('stats');
    const start = await (before ?? Promise.resolve(after));
    return {
      contender,
      rep,
      rps: result.rps,
      p50Ms: result.p50,
      p99Ms: result.p99,
      cpuUsPerCall: ((after.cpuMs - start.cpuMs) * 1000) / Math.max(1, result.requests),
      errors: result.errors,
    };
  } finally {
    await server.stop();
  }
}

const measuringHandlers = new Set<() => void>();

/**
 * Commands: each contender in a fresh process, loaded by one generator process
 * with keep-alive connections; contenders interleaved within each repetition
 * (see `measuringOrder`).
 */
export async function runCommands(
  mode: BenchMode,
  progress: (line: string) => void,
): Promise<{ runs: CommandRun[]; median: CommandSummary; paired: CommandPairs }> {
  const { child: load } = await startChild('./clients/load-client.ts', []);
  load.on('measuring', () => {
    for (const fn of measuringHandlers) fn();
  });
  const runs: CommandRun[] = [];
  const contenders = COMMAND_CONTENDERS.filter((c) => !mode.commands.skip?.includes(c));
  try {
    for (let rep = 1; rep <= (mode.commands.reps ?? mode.reps); rep++) {
      for (const contender of measuringOrder(rep, contenders)) {
        let run: CommandRun;
        try {
          run = await runOnce(contender, rep, load, mode);
        } catch (error) {
          progress(`commands ${contender} rep ${rep} failed: ${(error as Error).message.split('\n')[0]}`);
          continue;
        }
        runs.push(run);
        progress(
          `commands ${contender} rep ${rep}: ${Math.round(run.rps)} req/s, p99 ${run.p99Ms.toFixed(2)} ms, ${run.cpuUsPerCall.toFixed(0)} µs CPU/call${run.errors ? `, ${run.errors} errors` : ''}`,
        );
      }
    }
  } finally {
    await load.stop();
  }
  const summary = {} as CommandSummary;
  for (const c of contenders) {
    const mine = runs.filter((r) => r.contender === c);
    summary[c] = {
      rps: median(mine.map((r) => r.rps)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      cpuUsPerCall: median(mine.map((r) => r.cpuUsPerCall)),
      errors: mine.reduce((n, r) => n + r.errors, 0),
    };
  }
  return {
    runs,
    median: summary,
    paired: {
      rpsVsFloor: pairedRatio(runs, 'floor', 'rps'),
      rpsVsOrpc: pairedRatio(runs, 'orpc', 'rps'),
      p99VsRaw: pairedRatio(runs, 'raw', 'p99Ms'),
    },
  };
}
