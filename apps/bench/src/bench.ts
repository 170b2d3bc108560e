/**
 * `npm run bench`: Corbel against stock tRPC, raw node:http and Socket.IO on
 * this machine, in one go. Corbel runs as built (each package's dist/, what users
 * install; `npm run bench` builds first), plus one commands contender from
 * the TypeScript sources under tsx for comparison. Every server runs in its own process on
 * 127.0.0.1; load and subscribers run in other processes; every process is
 * stopped at the end.
 *
 *   npm run bench                      full run (3 repetitions, N = 100/1,000/5,000, 19,000-subscriber scale check
 *                                      at 10 readings/s, then 5, 2 and 1)
 *   npm run bench -- --quick           one repetition, N = 1,000 (under 2 minutes on an idle machine; CI)
 *   npm run bench -- --smoke           a few seconds per suite, N = 20 (the test suite's check)
 *   npm run bench -- --json            JSON instead of the table (progress goes to stderr)
 *   npm run bench -- --only fanout     one suite: startup | commands | fanout | long-poll | durable | scale (comma-separated)
 *   npm run bench -- --sizes 1000      fan-out sizes
 *   npm run bench -- --only scale --scale 5000   the scale check at another N (default 19,000)
 *   npm run bench -- --out file.json   also write the JSON report to a file
 *   npm run bench -- --html file.html  where the HTML report with charts goes (default apps/bench/results/report.html)
 *   npm run bench -- --profile dir     write a CPU profile (.cpuprofile) of every Corbel server process to dir, named
 *                                      after its contender (commands: also the floor's; the scale check: also raw
 *                                      SSE's and the client processes'; see profile-top.ts)
 *
 * The exit status is 1 when the run is broken (a contender that never
 * answered, a Corbel event lost, a suite that failed; see check.ts), never
 * because of a figure: CI runs `--quick` to prove the bench still works.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchProblems } from './check.js';
import { renderHtmlReport } from './html-report.js';
import { MODES } from './modes.js';
import { type BenchReport, judgeTargets, renderReport } from './report.js';
import { runCommands } from './suites/commands.js';
import { runDurable } from './suites/durable.js';
import { runFanout } from './suites/fanout.js';
import { runLongPoll } from './suites/long-poll.js';
import { runScale, SCALE_DEFAULT } from './suites/scale.js';
import { runStartup } from './suites/startup.js';

const SUITES = ['startup', 'commands', 'fanout', 'long-poll', 'durable', 'scale'] as const;

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      json: { type: 'boolean' },
      only: { type: 'string' },
      sizes: { type: 'string' },
      scale: { type: 'string' },
      reps: { type: 'string' },
      out: { type: 'string' },
      html: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--quick | --smoke] [--json] [--only startup,commands,fanout,long-poll,durable,scale] [--sizes 100,1000] [--scale 19000] [--reps n] [--out file.json] [--html file.html] [--profile dir]\n',
    );
    return;
  }
  const base = MODES[values.smoke ? 'smoke' : values.quick ? 'quick' : 'full'];
  const mode = {
    ...base,
    reps: values.reps ? Math.max(1, Number(values.reps)) : base.reps,
    // --reps sets every suite's repetitions, the commands suite's own default included.
    commands: values.reps ? { ...base.commands, reps: undefined } : base.commands,
    fanout: { ...base.fanout, sizes: values.sizes ? values.sizes.split(',').map(Number) : base.fanout.sizes },
    scale: values.scale
      ? { ...(base.scale ?? SCALE_DEFAULT), subscribers: Number(values.scale) }
      : base.scale,
  };
  // The scale check and the long-poll suite run in the full bench only (or asked for with --only):
  // the quick run stays under two minutes on a loaded machine.
  const only = new Set(
    values.only
      ? values.only.split(',')
      : SUITES.filter((s) => (s !== 'scale' || mode.scale) && (s !== 'long-poll' || mode.name === 'full')),
  );
  for (const s of only)
    if (!SUITES.includes(s as any)) throw new Error(`unknown suite ${s}; use ${SUITES.join(', ')}`);
  if (values.profile) {
    mkdirSync(values.profile, { recursive: true });
    process.env.CORBEL_BENCH_PROFILE = resolve(values.profile);
  }
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  const report: BenchReport = {
    mode: mode.name,
    reps: mode.reps,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: { node: process.version, cpus: availableParallelism(), loadAverage: loadavg() },
    targets: [],
  };
  if (only.has('startup')) {
    report.startup = runStartup(mode.name === 'full' ? 15 : 5);
    progress(
      `startup: corbel --version ${report.startup.cliVersionMs.toFixed(0)} ms, node -e 0 ${report.startup.nodeMs.toFixed(0)} ms`,
    );
  }
  // How long each suite took, so the quick run's two-minute budget can be watched.
  let mark = performance.now();
  const took = (suite: string) => {
    progress(`${suite} took ${((performance.now() - mark) / 1000).toFixed(1)} s`);
    mark = performance.now();
  };
  if (only.has('commands')) {
    report.commands = await runCommands(mode, progress);
    took('commands');
  }
  if (only.has('fanout')) {
    report.fanout = await runFanout(mode, progress);
    took('fan-out');
  }
  if (only.has('long-poll')) {
    try {
      report.longPoll = await runLongPoll(mode, progress);
    } catch (error) {
      progress(`long-poll failed: ${(error as Error).message}`);
      report.longPoll = { rows: [], failed: (error as Error).message };
    }
    took('long-poll');
  }
  if (only.has('durable')) {
    try {
      report.durable = await runDurable(mode, progress);
    } catch (error) {
      progress(`durable failed: ${(error as Error).message}`);
      report.durable = { available: false, note: `failed: ${(error as Error).message}` };
    }
    took('durable');
  }
  if (only.has('scale')) {
    report.scale = await runScale(mode, progress, 'station');
    report.scaleRaw = await runScale(mode, progress, 'raw');
    took('scale');
  }
  report.finishedAt = new Date().toISOString();
  report.targets = judgeTargets(report);
  progress(`bench finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  const html = resolve(values.html ?? fileURLToPath(new URL('../results/report.html', import.meta.url)));
  mkdirSync(dirname(html), { recursive: true });
  writeFileSync(html, renderHtmlReport(report));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
  progress(`HTML report: ${html}`);
  const problems = benchProblems(report);
  if (problems.length) {
    process.stderr.write(`bench run broken:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
