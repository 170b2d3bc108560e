import { type ChildProcess, spawn } from 'node:child_process';

export interface StartedProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  /** Every stdout and stderr line so far. */
  readonly lines: string[];
  /** The first capture group of `ready`, e.g. the URL a server prints. */
  readonly ready: string;
  /** Resolves with the first line matching `pattern` (already seen or still to come). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** A line matching this means the process is ready; its first group becomes `ready`. */
  ready: RegExp;
  timeoutMs?: number | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
}

/**
 * Starts a process and waits until it prints a line matching `ready`. Tests
 * use it with `await using`, so the process is stopped even when they fail.
 *
 * @example
 * await using station = await startProcess('npx', ['tsx', 'apps/weather/src/station.ts', '--port', '0'], { ready: /listening on (\S+)/ });
 */
export async function startProcess(
  command: string,
  args: string[],
  opts: StartOptions,
): Promise<StartedProcess> {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onText = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        for (const w of [...waiters]) {
          if (w.pattern.test(line)) {
            waiters.delete(w);
            w.resolve(line);
          }
        }
      }
    });
  };
  onText(child.stdout!);
  onText(child.stderr!);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLine = (pattern: RegExp, timeoutMs = 15_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `no line matching ${pattern} within ${timeoutMs} ms; output so far:\n${lines.join('\n')}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
      exited.then((code) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(
          new Error(`process exited (${code}) before printing ${pattern}; output:\n${lines.join('\n')}`),
        );
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  let readyLine: string;
  try {
    readyLine = await waitForLine(opts.ready, opts.timeoutMs ?? 30_000);
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
  const ready = opts.ready.exec(readyLine)?.[1] ?? readyLine;
  return {
    child,
    lines,
    ready,
    waitForLine,
    stop,
    exited,
    [Symbol.asyncDispose]: async () => void (await stop()),
  };
}

/**
 * Whether a process with this pid is still running (signal 0 checks without
 * sending anything): how a test shows the processes it started are gone.
 *
 * @example
 * const left = [1234, 5678].filter(isRunning); // pids still running
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
