import { isRunning, startProcess } from '@corbel/testing';
import { describe, expect, it } from 'vitest';

const demo = new URL('../src/demo.ts', import.meta.url).pathname;

describe('npm run demo', () => {
  it('shows two boards receiving readings from a third process, then stops every process it started', async () => {
    await using run = await startProcess(
      process.execPath,
      ['--conditions=@corbel/source', '--import', 'tsx', demo],
      {
        ready: /demo: a station and two boards/,
        env: { DEMO_DURATION_MS: '9000' },
      },
    );
    const code = await Promise.race([
      run.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000)),
    ]);
    expect(code).toBe(0);
    const out = run.lines.join('\n');
    const reported = run.lines.filter((l) => l.startsWith('reporter| reported')).length;
    expect(reported).toBeGreaterThanOrEqual(2);
    // Board A takes every city, board B only Oslo; the first reading is Oslo.
    expect(out).toMatch(/board A \| \[\d\d:\d\d:\d\d\] Oslo .* °C {2}#\S+/);
    expect(out).toMatch(/board B \| \[\d\d:\d\d:\d\d\] Oslo .* °C {2}#\S+/);
    expect(out).toMatch(/board A \| \[\d\d:\d\d:\d\d\] Boston/);
    expect(out).not.toMatch(/board B \| \[\d\d:\d\d:\d\d\] Boston/);
    const pids =
      /stopped every process it started \(pids ([\d, ]+)\)/.exec(out)?.[1]?.split(', ').map(Number) ?? [];
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });
});
