import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isRunning, until } from '@corbel/testing';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The pids whose parent is `ppid` (from /proc: this bench runs on Linux). */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its last ')'.
      const ppidField = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidField === ppid) pids.push(Number(entry));
    } catch {
      // Gone while listing.
    }
  }
  return pids;
}

describe('an interrupted bench (interrupted-bench-leaves-children)', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('stops every process it started on %s', async (signal) => {
    const bench = spawn(
      process.execPath,
      [
        '--conditions=@corbel/source',
        '--import',
        'tsx',
        'apps/bench/src/bench.ts',
        '--smoke',
        '--only',
        'commands',
      ],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    let children: number[] = [];
    try {
      // The load generator and a server: two children at once.
      await until(
        () => {
          children = childrenOf(bench.pid!);
          return children.length >= 2;
        },
        { what: 'the bench to start its processes', timeoutMs: 60_000 },
      );
      bench.kill(signal);
      const code = await exited;
      await until(() => children.every((pid) => !isRunning(pid)), {
        what: 'the children to be gone',
        timeoutMs: 5000,
      });
      expect(code).toBe(signal === 'SIGINT' ? 130 : 143);
    } finally {
      bench.kill('SIGKILL');
      for (const pid of children) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
