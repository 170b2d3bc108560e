import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `npm run bench -- --smoke --json` (as node directly) and returns its JSON report. */
function runBench(args: string[]): Promise<{ code: number | null; report: any; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@corbel/source', '--import', 'tsx', 'apps/bench/src/bench.ts', ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      let report: any;
      try {
        report = JSON.parse(out);
      } catch {
        report = undefined;
      }
      resolve({ code, report, stderr: err });
    });
  });
}

// Proves the bench still runs end to end (every contender answers, every
// subscriber connects and receives). It asserts nothing about speed: the
// machine is shared and the smoke mode is far too short to mean anything.
describe('npm run bench -- --smoke', () => {
  it('runs every suite and reports figures for every contender', { timeout: 180_000 }, async () => {
    const { code, report, stderr } = await runBench(['--smoke', '--json']);
    expect(code, stderr).toBe(0);
    expect(report.mode).toBe('smoke');

    for (const contender of ['corbel', 'trpc', 'orpc', 'raw', 'floor'] as const) {
      const c = report.commands.median[contender];
      expect(c.rps, contender).toBeGreaterThan(0);
      expect(c.errors, contender).toBe(0);
      expect(Number.isFinite(c.p99Ms), contender).toBe(true);
    }

    const [size, byKind] = Object.entries(report.fanout.median)[0] as [string, any];
    for (const contender of ['corbel', 'trpc', 'raw', 'socketio'] as const) {
      const f = byKind[contender];
      expect(f.connected, contender).toBe(Number(size));
      expect(f.deliveredPerSec, contender).toBeGreaterThan(0);
      expect(Number.isFinite(f.p99Ms), contender).toBe(true);
      // The server's share of the latency was measured over the fixed-rate events.
      expect(f.handoffP99Ms, contender).toBeGreaterThan(0);
      expect(f.handoffP99Ms, contender).toBeGreaterThanOrEqual(f.handoffP50Ms);
    }
    // Corbel delivers every event to every subscriber, and no stream breaks.
    expect(byKind.corbel.missing).toBe(0);
    expect(byKind.corbel.dropped).toBe(0);

    expect(report.durable).toBeDefined();
    expect(report.targets.length).toBeGreaterThan(0);
  });
});
