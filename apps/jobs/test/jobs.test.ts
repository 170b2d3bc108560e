/**
 * The jobs app end to end: a real jobs server process, real worker threads,
 * Node clients and the `jobs` command as separate processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCorbelClient, trpcCodeOf } from '@corbel/client';
import { freePort, type StartedProcess, startProcess } from '@corbel/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../src/job-record.js';
import type { JobsRouter } from '../src/router.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tsx = ['--conditions=@corbel/source', '--import', 'tsx'];
const serverScript = join(repoRoot, 'apps/jobs/src/server.ts');
const cliScript = join(repoRoot, 'apps/jobs/src/jobs.ts');
/** π(n) for the sizes used here. */
const PRIME_COUNT: Record<number, number> = { 100000000: 5_761_455, 200000000: 11_078_937 };
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-jobs-'));
  dirs.push(dir);
  return dir;
};

function jobsServer(args: string[]): Promise<StartedProcess> {
  return startProcess(process.execPath, [...tsx, serverScript, ...args], {
    ready: /listening on (\S+)/,
    cwd: repoRoot,
  });
}

const clientFor = (url: string) => createCorbelClient<JobsRouter>({ url });
type Client = ReturnType<typeof clientFor>;

/** Polls until the job has finished at least `ranges` ranges (or finished). */
async function waitForRanges(client: Client, jobId: string, ranges: number) {
  for (let i = 0; i < 600; i++) {
    const job = await client.jobs.get.query({ jobId });
    if (job.rangesDone >= ranges || (job.state !== 'running' && job.state !== 'queued')) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${jobId} did not reach ${ranges} ranges`);
}

// Jobs compute for real; on a loaded 2-core machine that can take a while.
describe('jobs', { timeout: 180_000 }, () => {
  it('keeps running while nobody listens; a second client resumes by id with no gap and no duplicate', async () => {
    await using server = await jobsServer(['--port', '0']);
    const first = clientFor(server.ready);
    const job = await first.jobs.start.mutate({ kind: 'primes', upTo: 100_000_000 });
    expect(job.state).toMatch(/queued|running/);

    // Follow until three ranges are in, then disconnect.
    const controller = new AbortController();
    const before: ProgressEvent[] = [];
    let lastEventId: string | undefined;
    for await (const { id, data } of first.jobs.progress.subscribe(
      { jobId: job.id },
      { signal: controller.signal },
    )) {
      before.push(data);
      lastEventId = id;
      if (data.type === 'range' && data.rangesDone >= 3) break;
    }
    controller.abort();
    expect(before[0]!.type).toBe('snapshot');
    const seenRanges = before.filter((e) => e.type === 'range').length;
    const snapshotRanges = before[0]!.type === 'snapshot' ? before[0]!.partials.length : 0;

    // The job moves on with no subscriber.
    const progressed = await waitForRanges(first, job.id, 10);
    expect(progressed.rangesDone).toBeGreaterThanOrEqual(10);

    // Another client (as another process would) resumes after the last id it was given.
    const second = clientFor(server.ready);
    const after: ProgressEvent[] = [];
    for await (const { data } of second.jobs.progress.subscribe({ jobId: job.id, lastEventId })) {
      after.push(data);
      if (data.type === 'done') break;
    }
    const ranges = after.filter((e) => e.type === 'range');
    expect(ranges[0]!.type === 'range' && ranges[0]!.rangesDone).toBe(snapshotRanges + seenRanges + 1);
    const done = after.at(-1)!;
    expect(done.type).toBe('done');
    if (done.type !== 'done' || done.result.kind !== 'primes') throw new Error('expected a primes result');
    expect(done.result.count).toBe(PRIME_COUNT[100_000_000]);
    // Every range exactly once across both connections.
    const all = [
      ...(before[0]!.type === 'snapshot' ? before[0]!.partials : []),
      ...[...before, ...after].flatMap((e) => (e.type === 'range' ? [e.partial] : [])),
    ];
    expect(all.map((p) => p.from)).toEqual([...new Set(all.map((p) => p.from))].sort((a, b) => a - b));
    expect(all.reduce((n, p) => n + (p.kind === 'primes' ? p.count : 0), 0)).toBe(done.result.count);

    // A finished job keeps its result: a late watcher gets a snapshot with it, then the stream ends.
    const late: ProgressEvent[] = [];
    for await (const { data } of second.jobs.progress.subscribe({ jobId: job.id })) late.push(data);
    expect(late).toHaveLength(1);
    expect(late[0]!.type === 'snapshot' && late[0]!.job.result?.kind).toBe('primes');
  });

  it('cancel stops the worker, and commands are answered while a job computes', async () => {
    await using server = await jobsServer(['--port', '0', '--max-workers', '1']);
    const client = clientFor(server.ready);
    const job = await client.jobs.start.mutate({ kind: 'primes', upTo: 10_000_000_000 });
    await waitForRanges(client, job.id, 1);
    expect((await client.jobs.list.query()).activeWorkers).toBe(1);

    // The event loop is free while the worker computes: each command comes back within a bound.
    const bound = 1500;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const { jobs } = await client.jobs.list.query();
      expect(performance.now() - started).toBeLessThan(bound);
      expect(jobs.find((j) => j.id === job.id)?.state).toBe('running');
    }

    const events: ProgressEvent[] = [];
    let following!: Promise<void>;
    await new Promise<void>((subscribed) => {
      following = (async () => {
        for await (const { data } of client.jobs.progress.subscribe({ jobId: job.id })) {
          events.push(data);
          subscribed();
        }
      })();
    });
    const cancelled = await client.jobs.cancel.mutate({ jobId: job.id });
    expect(cancelled.state).toBe('cancelled');
    await following; // the stream ends after the cancelled event
    expect(events.at(-1)?.type).toBe('cancelled');
    const { activeWorkers, jobs } = await client.jobs.list.query();
    expect(activeWorkers).toBe(0);
    const frozen = jobs.find((j) => j.id === job.id)!.rangesDone;
    await new Promise((r) => setTimeout(r, 500));
    expect((await client.jobs.get.query({ jobId: job.id })).rangesDone).toBe(frozen);
    expect(frozen).toBeLessThan(cancelled.rangeCount);
  });

  it.each([
    ['SIGTERM', 'a graceful stop'],
    ['SIGKILL', 'a crash'],
  ] as const)(
    'with --data, the `jobs` command survives a server restart (%s, %s): the job resumes from its checkpoint',
    async (signal, _what) => {
      const port = await freePort();
      const dataDir = tempDir();
      let server: StartedProcess | undefined = await jobsServer(['--port', String(port), '--data', dataDir]);
      const url = server.ready;
      await using cli = await startProcess(
        process.execPath,
        [...tsx, cliScript, 'primes', '200000000', '--url', url],
        {
          ready: /started (job-\w+)/,
          cwd: repoRoot,
        },
      );
      const jobId = cli.ready;
      try {
        const before = await waitForRanges(clientFor(url), jobId, 3);
        expect(before.state).toBe('running');
        await server.stop(signal);
        server = await jobsServer(['--port', String(port), '--data', dataDir]);
        await server.waitForLine(/resumed 1 unfinished job/);
        expect(await cli.exited).toBe(0);
        const out = cli.lines.join('\n');
        expect(out).toMatch(/resum\w+ from (its|the) checkpoint at [\d.]+%/);
        expect(out).toContain(`done in`);
        expect(out).toContain(
          `${PRIME_COUNT[200_000_000]!.toLocaleString('en-US')} primes up to 200,000,000`,
        );
        const job = await clientFor(url).jobs.get.query({ jobId });
        expect(job).toMatchObject({ state: 'done', restarts: 1 });
      } finally {
        await server?.stop();
      }
    },
  );

  it('refuses a second server on the same data directory', async () => {
    const dataDir = tempDir();
    await using first = await jobsServer(['--port', '0', '--data', dataDir]);
    await expect(jobsServer(['--port', '0', '--data', dataDir])).rejects.toThrow(/in use by process \d+/);
    expect(first.child.exitCode).toBe(null);
  });

  it('without --data, a restart loses the job and the `jobs` command says so and why', async () => {
    const port = await freePort();
    let server: StartedProcess | undefined = await jobsServer(['--port', String(port)]);
    const url = server.ready;
    await using cli = await startProcess(
      process.execPath,
      [...tsx, cliScript, 'primes', '10000000000', '--url', url],
      {
        ready: /started (job-\w+)/,
        cwd: repoRoot,
      },
    );
    try {
      await waitForRanges(clientFor(url), cli.ready, 1);
      await server.stop();
      server = await jobsServer(['--port', String(port)]);
      expect(await cli.exited).toBe(3);
      expect(cli.lines.join('\n')).toMatch(/job job-\w+ was lost: .*without --data/);
    } finally {
      await server?.stop();
    }
  });

  it('a finished job keeps its result for the retention period, then is gone', async () => {
    await using server = await jobsServer(['--port', '0', '--retention', '1']);
    const client = clientFor(server.ready);
    const job = await client.jobs.start.mutate({ kind: 'collatz', upTo: 20_000 });
    // The last range lands a moment before the job is marked done.
    let done = await waitForRanges(client, job.id, job.rangeCount);
    for (let i = 0; i < 100 && done.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      done = await client.jobs.get.query({ jobId: job.id });
    }
    expect(done.state).toBe('done');
    expect(done.result).toMatchObject({ kind: 'collatz', start: 17_647, steps: 278 });
    let code: string | null = null;
    for (let i = 0; i < 100 && code === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      code = await client.jobs.get.query({ jobId: job.id }).then(
        () => null,
        (e: unknown) => trpcCodeOf(e),
      );
    }
    expect(code).toBe('NOT_FOUND');
  });

  it('with --token, the command and the stream need it, and the `jobs` command sends it', async () => {
    await using server = await jobsServer(['--port', '0', '--token', 'jobs-secret']);
    const refused = await clientFor(server.ready)
      .jobs.list.query()
      .then(
        () => null,
        (e: unknown) => trpcCodeOf(e),
      );
    expect(refused).toBe('UNAUTHORIZED');
    await using cli = await startProcess(
      process.execPath,
      [...tsx, cliScript, 'collatz', '20000', '--url', server.ready, '--token', 'jobs-secret'],
      { ready: /started (job-\w+)/, cwd: repoRoot },
    );
    expect(await cli.exited).toBe(0);
    expect(cli.lines.join('\n')).toContain('starts at 17647: 278 steps');
  });
});
