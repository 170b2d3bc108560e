import { spawn } from 'node:child_process';
import { freePort, type StartedProcess, startProcess } from '@corbel/testing';

/** The real binary, as `npx corbel` runs it. */
export const CORBEL_BIN = new URL('../../packages/cli/bin/corbel.js', import.meta.url).pathname;
export const REPO_ROOT = new URL('../..', import.meta.url).pathname;

export interface CorbelRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `corbel <args>` to completion (killed after `timeoutMs`), stdin closed. */
export function runCorbel(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CorbelRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CORBEL_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, CORBEL_TOKEN: '', NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `corbel` (e.g. listen) that is ready once it prints `ready`. */
export function startCorbel(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<StartedProcess> {
  return startProcess(process.execPath, [CORBEL_BIN, ...args], {
    ready,
    cwd: REPO_ROOT,
    env: { CORBEL_TOKEN: '', NO_COLOR: '1', ...env },
  });
}

/** A loopback port nothing listens on (bound, then released). */
export const closedPort = freePort;
