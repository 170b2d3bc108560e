import { type ChildProcess, spawn } from 'node:child_process';
import { createCorbelClient, serveHandlers } from '@corbel/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchHandlers, type ReverseBenchRouter } from '../../apps/bench/src/servers/reverse-server.js';

const serverEntry = new URL('../../apps/bench/src/servers/reverse-server.ts', import.meta.url).pathname;
let child: ChildProcess;
let url: string;

beforeAll(async () => {
  child = spawn(process.execPath, ['--conditions=@corbel/source', '--import', 'tsx', serverEntry], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${text}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const m = /listening on (\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
});

describe('reverse calls to a client from a server in another process', () => {
  it('1,000 concurrent calls to one client all complete, each run once', { timeout: 60_000 }, async () => {
    const client = createCorbelClient<ReverseBenchRouter>({ url, timeoutMs: 60_000 });
    const seen = new Set<number>();
    let runs = 0;
    const endpoint = serveHandlers(client, {
      handlers: benchHandlers,
      implementations: {
        'bench.echo': ({ n }) => {
          runs++;
          seen.add(n);
          return { n };
        },
      },
    });
    try {
      await endpoint.ready;
      const { latencies } = await client.bench.reverse.mutate({
        session: endpoint.ref!,
        n: 1000,
        concurrency: 1000,
      });
      expect(latencies).toHaveLength(1000);
      expect(runs).toBe(1000);
      expect(seen.size).toBe(1000);
    } finally {
      endpoint.close();
    }
  });
});
