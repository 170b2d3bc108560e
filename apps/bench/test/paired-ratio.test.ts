import { describe, expect, it } from 'vitest';
import { pairedRatio } from '../src/paired-ratio.js';
import { type BenchReport, judgeTargets } from '../src/report.js';
import type { CommandRun } from '../src/suites/commands.js';

const run = (contender: CommandRun['contender'], rep: number, rps: number, p99Ms = 10): CommandRun => ({
  contender,
  rep,
  rps,
  p50Ms: 1,
  p99Ms,
  cpuUsPerCall: 100,
  errors: 0,
});

describe('commands targets on paired ratios', () => {
  // The machine slows down between repetitions: every rep, Corbel is 0.9× the floor.
  const runs = [
    run('corbel', 1, 900),
    run('floor', 1, 1000),
    run('corbel', 2, 450),
    run('floor', 2, 500),
    run('corbel', 3, 1800),
    run('floor', 3, 2000),
    run('corbel', 4, 800),
  ];

  it('divides within each repetition, so drift between repetitions cancels', () => {
    expect(pairedRatio(runs, 'floor', 'rps')).toEqual({ median: 0.9, min: 0.9, max: 0.9, reps: 3 });
    expect(pairedRatio(runs, 'orpc', 'rps')).toBeUndefined();
  });

  it('judges the targets on the paired median and shows the spread', () => {
    const median = { rps: 0, p50Ms: 1, p99Ms: 10, cpuUsPerCall: 100, errors: 0 };
    const report = {
      commands: {
        // Ratio of medians would say 800/1000 = 0.8 and miss; the pairs say 0.9.
        median: {
          corbel: { ...median, rps: 800 },
          floor: { ...median, rps: 1000 },
          trpc: median,
          raw: median,
        },
        runs,
        paired: {
          rpsVsFloor: pairedRatio(runs, 'floor', 'rps'),
          p99VsRaw: { median: 2.5, min: 2.1, max: 3, reps: 3 },
        },
      },
      targets: [],
    } as unknown as BenchReport;
    const targets = judgeTargets(report);
    expect(targets.find((t) => t.goal.includes('floor'))).toMatchObject({
      actual: '0.90× (0.90–0.90 over 3 repetitions)',
      met: true,
    });
    expect(targets.find((t) => t.name === 'commands p99')).toMatchObject({
      actual: '2.50× (2.10–3.00 over 3 repetitions)',
      met: false,
    });
  });
});
