import { describe, expect, it } from 'vitest';
import { benchProblems } from '../src/check.js';
import type { BenchReport } from '../src/report.js';

const command = (rps: number, errors = 0) => ({ rps, p50Ms: 1, p99Ms: 2, cpuUsPerCall: 100, errors });
const fan = (connected: number, deliveredPerSec: number) =>
  ({ connected, deliveredPerSec, p99Ms: 5, missing: 0, dropped: 0 }) as any;

/** A healthy report: every contender answered and connected; slow, but speed is no problem. */
function report(): BenchReport {
  return {
    mode: 'quick',
    reps: 1,
    startedAt: '',
    finishedAt: '',
    machine: { node: 'v20', cpus: 2, loadAverage: [0, 0, 0] },
    commands: {
      median: {
        corbel: command(10),
        'corbel-tsx': command(9),
        trpc: command(1),
        orpc: command(8),
        raw: command(100_000),
        floor: command(50),
      },
      runs: [],
    },
    fanout: {
      median: { 20: { corbel: fan(20, 5), trpc: fan(20, 1), raw: fan(20, 9), socketio: fan(20, 2) } },
      runs: [{ contender: 'corbel', subscribers: 20, rep: 1, missing: 0, dropped: 0 }],
    },
    durable: { available: true, figures: {} },
    targets: [],
  };
}

describe('what makes a bench run broken', () => {
  it('is never a figure: a slow run is not broken', () => {
    expect(benchProblems(report())).toEqual([]);
  });

  it('is not a contender the mode skipped', () => {
    const r = report();
    delete r.commands!.median['corbel-tsx'];
    delete r.commands!.median.orpc;
    expect(benchProblems(r)).toEqual([]);
  });

  it('is a contender that answered nothing or with errors, or did not connect', () => {
    const r = report();
    r.commands!.median.trpc = command(Number.NaN);
    r.commands!.median.raw = command(5, 3);
    r.fanout!.median[20]!.socketio = fan(12, 4);
    expect(benchProblems(r)).toEqual([
      'commands: trpc answered nothing',
      'commands: raw answered 3 requests with an error status',
      'fan-out N=20: socketio connected 12',
    ]);
  });

  it('is a Corbel delivery lost or a Corbel stream broken in any repetition, or a failed suite', () => {
    const r = report();
    r.fanout!.runs = [{ contender: 'corbel', subscribers: 20, rep: 2, missing: 4, dropped: 1 }];
    r.durable = { available: false, note: 'failed: no sqlite' };
    expect(benchProblems(r)).toEqual([
      'fan-out N=20 rep 2: Corbel missed 4 deliveries',
      'fan-out N=20 rep 2: 1 Corbel streams broke',
      'durable: failed: no sqlite',
    ]);
  });

  it('is a long-poll or SSE delivery lost, or the long-poll suite failing', () => {
    const row = (transport: 'sse' | 'long-poll', delivered: number) => ({
      transport,
      subscribers: 10,
      perSec: 50,
      published: 5,
      expected: 50,
      delivered,
      missing: 50 - delivered,
      deliveredPerSec: 1,
      p50Ms: 1,
      p99Ms: 2,
      clientErrors: 0,
    });
    const r = report();
    r.longPoll = { rows: [row('sse', 50), row('long-poll', 49)] };
    expect(benchProblems(r)).toEqual(['long-poll: long-poll delivered 49 of 50']);
    r.longPoll = { rows: [], failed: 'only 3 of 10 connected' };
    expect(benchProblems(r)).toEqual(['long-poll: only 3 of 10 connected']);
  });
});
