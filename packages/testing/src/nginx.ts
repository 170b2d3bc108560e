import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

const CANDIDATES = ['nginx', '/usr/sbin/nginx'];

/** The nginx binary on this machine (PATH, then Debian's /usr/sbin), or null. */
export function findNginx(): string | null {
  for (const binary of CANDIDATES) {
    const probe = spawnSync(binary, ['-v'], { encoding: 'utf8' });
    if (probe.status === 0 && /nginx version/.test(`${probe.stderr}${probe.stdout}`)) return binary;
  }
  return null;
}

/**
 * Decides whether an nginx suite can run. Without nginx it throws under
 * `CI=true` (a CI run must never pass by skipping) and otherwise prints a loud
 * notice and returns false, for `describe.skipIf(!nginxAvailable)`.
 * (`npm run provision` installs it.)
 *
 * @example
 * const nginxAvailable = requireNginx('long poll through a buffering proxy');
 */
export function requireNginx(suite: string): boolean {
  if (findNginx()) return true;
  const message = `${suite}: nginx was not found (PATH or /usr/sbin), so this suite was NOT RUN (install the nginx package, or run npm run provision)`;
  if (process.env.CI === 'true') throw new Error(`${message}; failing because CI=true`);
  process.stderr.write(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n\n`);
  return false;
}

export interface BufferingNginx extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the proxy, in front of the upstream. */
  readonly url: string;
  readonly dir: string;
  /** Stops nginx (by its pid) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a private nginx on a free loopback port in front of `upstream`,
 * configured the way compressing proxies break event streams: it gzips
 * `text/event-stream`, buffers upstream responses and ignores
 * `X-Accel-Buffering`, so a stream's first bytes (headers included) stay in
 * its buffers. Commands and long polls, complete responses, pass. Use with
 * `await using`.
 *
 * @example
 * await using proxy = await startBufferingNginx('http://127.0.0.1:4000');
 */
export async function startBufferingNginx(upstream: string): Promise<BufferingNginx> {
  const binary = findNginx();
  if (!binary) throw new Error('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'corbel-nginx-'));
  for (const sub of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const port = await freePort();
  const target = new URL(upstream);
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  gzip on;
  gzip_types text/event-stream application/json;
  gzip_min_length 0;
  gzip_proxied any;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${target.hostname}:${target.port};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
      proxy_ignore_headers X-Accel-Buffering;
      proxy_read_timeout 120s;
    }
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const child: ChildProcess = spawn(binary, ['-c', confFile, '-p', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready once it accepts connections (bounded).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start: ${stderr.slice(0, 500)}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nginx did not start within 10 s: ${stderr.slice(0, 500)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.pid !== undefined) {
      // SIGTERM is nginx's fast shutdown: it stops its workers too.
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };
  return { url: `http://127.0.0.1:${port}`, dir, stop, [Symbol.asyncDispose]: stop };
}
