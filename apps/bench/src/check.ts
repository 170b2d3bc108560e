import type { BenchReport } from './report.js';
import { COMMAND_CONTENDERS } from './suites/commands.js';
import { FANOUT_CONTENDERS, type FanoutRun } from './suites/fanout.js';

/**
 * What makes a bench run broken rather than slow: a contender that never
 * answered or connected, a Corbel event that never arrived, a stream that
 * broke, a suite that failed. Speed is never a problem here: the figures
 * are for reading, and a shared machine makes them noisy.
 */
export function benchProblems(report: BenchReport): string[] {
  const problems: string[] = [];
  const commands = report.commands?.median;
  if (commands) {
    // Every contender the run measured (a mode may skip some), and always Corbel, tRPC and raw.
    const measured = COMMAND_CONTENDERS.filter((k) => k in commands || ['corbel', 'trpc', 'raw'].includes(k));
    for (const k of measured) {
      const c = commands[k];
      if (!c || !(c.rps > 0)) problems.push(`commands: ${k} answered nothing`);
      else if (c.errors > 0)
        problems.push(`commands: ${k} answered ${c.errors} requests with an error status`);
    }
  }
  const fanout = report.fanout?.median;
  if (fanout) {
    for (const [n, byKind] of Object.entries(fanout)) {
      for (const k of FANOUT_CONTENDERS) {
        const f = byKind[k];
        if (!f || f.connected < Number(n))
          problems.push(`fan-out N=${n}: ${k} connected ${f?.connected ?? 0}`);
        else if (!(f.deliveredPerSec > 0)) problems.push(`fan-out N=${n}: ${k} delivered nothing`);
      }
    }
    // Corbel loses nothing and breaks no stream, in any repetition.
    for (const run of (report.fanout?.runs ?? []) as FanoutRun[]) {
      if (run.contender !== 'corbel') continue;
      if (run.missing > 0)
        problems.push(`fan-out N=${run.subscribers} rep ${run.rep}: Corbel missed ${run.missing} deliveries`);
      if (run.dropped > 0)
        problems.push(`fan-out N=${run.subscribers} rep ${run.rep}: ${run.dropped} Corbel streams broke`);
    }
  }
  const lp = report.longPoll;
  if (lp?.failed) problems.push(`long-poll: ${lp.failed}`);
  for (const r of lp?.rows ?? []) {
    if (r.delivered < r.expected)
      problems.push(`long-poll: ${r.transport} delivered ${r.delivered} of ${r.expected}`);
  }
  if (report.durable && !report.durable.available) problems.push(`durable: ${report.durable.note}`);
  if (report.scale && !report.scale.allDelivered) {
    const s = report.scale;
    problems.push(`scale: ${s.connected}/${s.subscribers} connected, ${s.received}/${s.expected} deliveries`);
  }
  return problems;
}
