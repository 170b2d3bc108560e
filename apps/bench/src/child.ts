import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const live = new Set<ChildProcess>();

// Whatever happens to the bench, its children go with it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// Ctrl-C or a kill ends the bench through exit(), so the hook above runs: a
// signal's default ending does not run it, and a child busy serving load
// would not notice its parent gone until its event loop got to the IPC.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => process.exit(code));
}

/** Kills `child` with the bench too, like the processes `startChild` forks, until it exits. */
export function endsWithBench(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export interface BenchChild {
  readonly pid: number;
  /** Sends a command and resolves with the child's answer. */
  call<T = any>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Listens to events the child sends on its own; returns the unsubscribe. */
  on(event: string, fn: (data: any) => void): () => void;
  /** The child's stderr so far (for error reports). */
  stderr(): string;
  /** Stops the child: SIGTERM, then SIGKILL after five seconds. */
  stop(): Promise<void>;
}

/**
 * Starts a bench process (a TypeScript file under apps/bench/src) with an IPC
 * channel and `--expose-gc`, and waits for its `ready` event. The bench's own
 * files run through tsx, but `@corbel/*` resolve to the built packages
 * (dist/, what users run) unless `source` asks for the TypeScript sources.
 */
export async function startChild(
  file: string,
  args: string[],
  /**
   * `profile`: under `--profile <dir>`, write this process's CPU profiles to `<dir>/<profile>/` (one file per
   * thread: Node's own names, since tsx's loader thread writes one too).
   */
  opts: { readyTimeoutMs?: number; profile?: string | undefined; source?: boolean } = {},
): Promise<{ child: BenchChild; ready: any }> {
  const profileDir = process.env.CORBEL_BENCH_PROFILE;
  const profiling =
    opts.profile && profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, opts.profile)}`] : [];
  const proc = fork(fileURLToPath(new URL(file, import.meta.url)), args, {
    cwd: ROOT,
    execArgv: [
      ...(opts.source ? ['--conditions=@corbel/source'] : []),
      '--import',
      'tsx',
      '--expose-gc',
      '--max-old-space-size=4096',
      ...profiling,
    ],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  endsWithBench(proc);
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (c: string) => {
    err = (err + c).slice(-8000);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, ((data: any) => void)[]>();
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      for (const p of pending.values())
        p.reject(new Error(`${file} exited (${code ?? signal}) during a call\n${err}`));
      pending.clear();
      resolve();
    });
  });
  proc.on('message', (m: any) => {
    if (m && typeof m.id === 'number') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(`${file}: ${m.error}`));
    } else if (m?.event) {
      for (const fn of listeners.get(m.event) ?? []) fn(m);
    }
  });
  const child: BenchChild = {
    pid: proc.pid ?? -1,
    call(cmd, callArgs = {}, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        if (!proc.connected) return reject(new Error(`${file} is not running\n${err}`));
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${file}: ${cmd} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        proc.send({ id, cmd, args: callArgs });
      });
    },
    on(event, fn) {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      return () =>
        listeners.set(
          event,
          (listeners.get(event) ?? []).filter((f) => f !== fn),
        );
    },
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  const ready = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${file} did not become ready in time\n${err}`));
    }, opts.readyTimeoutMs ?? 30_000);
    child.on('ready', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${file} exited before it was ready\n${err}`));
    });
  });
  return { child, ready };
}
