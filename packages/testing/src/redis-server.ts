import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface RedisServerOptions {
  /**
   * What survives a restart: 'none' (default: `--save ''`, no AOF, the data
   * lives in memory only) or 'aof' (append-only file, fsynced before every
   * reply, so whatever Redis acknowledged survives even SIGKILL).
   */
  persistence?: 'none' | 'aof' | undefined;
  /** The binary (default `redis-server` on PATH). */
  binary?: string | undefined;
  /** Extra `--name value` arguments. */
  args?: string[] | undefined;
}

export interface RedisServer extends AsyncDisposable {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The private data directory (removed by `stop`). */
  readonly dir: string;
  /** Output lines of the current process. */
  readonly lines: string[];
  /** Stops this server: SIGTERM (Redis shuts down cleanly) or SIGKILL (a crash). */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and data directory (after `kill`). */
  start(): Promise<void>;
  /** Kills it and removes its data directory. */
  stop(): Promise<void>;
}

const BINARY = 'redis-server';

/** True when `redis-server` can be run on this machine. */
export function hasRedisServer(binary = BINARY): boolean {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && /Redis server/.test(probe.stdout);
}

/**
 * Decides whether a Redis suite can run. Without the binary it throws under
 * `CI=true` (a CI run must never pass by skipping) and otherwise prints a loud
 * notice and returns false, for `describe.skipIf(!redisAvailable)`.
 *
 * @example
 * const redisAvailable = requireRedisServer('store conformance: redis');
 * describe.skipIf(!redisAvailable)('redis', () => {}); // the suite's tests go in the callback
 */
export function requireRedisServer(suite: string, binary = BINARY): boolean {
  if (hasRedisServer(binary)) return true;
  const message = `${suite}: \`${binary}\` was not found on PATH, so this Redis suite was NOT RUN (install the redis-server package)`;
  if (process.env.CI === 'true') throw new Error(`${message}; failing because CI=true`);
  process.stderr.write(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n\n`);
  return false;
}

/**
 * Starts a private `redis-server` on a free loopback port with its own
 * temporary directory, for one test file. It never connects to or stops a
 * Redis it did not start. Use with `await using`.
 *
 * @example
 * await using redis = await startRedisServer({ persistence: 'aof' });
 * const log = await openRedisLog({ url: redis.url });
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = opts.binary ?? BINARY;
  const dir = mkdtempSync(join(tmpdir(), 'corbel-redis-'));
  const persistence = opts.persistence ?? 'none';
  let port = 0;
  let child: ChildProcess | null = null;
  let lines: string[] = [];

  const launch = async (): Promise<void> => {
    lines = [];
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      persistence === 'aof' ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...(opts.args ?? []),
    ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let rest = '';
      const onData = (chunk: Buffer) => {
        rest += chunk.toString('utf8');
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          lines.push(line);
          if (/Ready to accept connections/.test(line)) resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('error', reject);
      proc.once('exit', (code, signal) =>
        reject(
          new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${lines.join('\n')}`),
        ),
      );
      setTimeout(
        () => reject(new Error(`redis-server not ready within 10 s:\n${lines.join('\n')}`)),
        10_000,
      ).unref();
    });
  };

  const kill = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  // A free port can be taken between the probe and the bind; try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      await kill('SIGKILL');
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const stop = async () => {
    await kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get lines() {
      return lines;
    },
    kill,
    start: launch,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
