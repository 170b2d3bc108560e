import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Channel, defineChannel, type Hub } from '@corbel/core';
import { TRPCError, type TrackedEnvelope, tracked } from '@trpc/server';
import { combine, rangeCount, type StartInput } from './job-kinds.js';
import {
  infoOf,
  isFinished,
  isTerminalEvent,
  type JobInfo,
  type JobRecord,
  type ProgressEvent,
  progressEventSchema,
  progressOf,
} from './job-record.js';
import type { JobStore } from './job-store.js';
import type { WorkerInput, WorkerMessage } from './job-worker.js';

export interface JobManagerOptions {
  hub: Hub;
  /** Checkpoints survive restarts only with a store. */
  store?: JobStore;
  /** Jobs computing at once; more wait queued (default: cores - 1, at least 1). */
  maxWorkers?: number;
  /** How long a finished job keeps its result (default 1 hour). */
  retentionMs?: number;
  /** Reports background failures (a checkpoint that could not be written). */
  onError?: (error: Error) => void;
}

export interface JobManager {
  /** Loads checkpoints and resumes unfinished jobs; call once before serving. */
  restore(): Promise<number>;
  start(input: StartInput): Promise<JobInfo>;
  get(jobId: string): JobInfo;
  list(): { jobs: JobInfo[]; activeWorkers: number; maxWorkers: number };
  cancel(jobId: string): Promise<JobInfo>;
  /** The progress stream of a job: a snapshot (without lastEventId) or the events after lastEventId. */
  progress(
    jobId: string,
    lastEventId: string | undefined,
    signal?: AbortSignal,
  ): Promise<AsyncIterable<TrackedEnvelope<ProgressEvent>>>;
  /** Stops every worker; unfinished jobs stay "running" in their checkpoint and resume on the next start. */
  close(): Promise<void>;
}

interface Live {
  record: JobRecord;
  channel: Channel<typeof progressEventSchema>;
  worker?: Worker;
  /** Serializes publish → record update → checkpoint, in message order. */
  chain: Promise<void>;
}

const workerUrl = new URL(`./job-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A worker for the job; under tsx (sources in development) it loads tsx's hooks first. */
function spawnWorker(data: WorkerInput): Worker {
  if (!workerUrl.pathname.endsWith('.ts')) return new Worker(workerUrl, { workerData: data });
  // Resolved here, not in the worker: eval'd code resolves bare names from the cwd, which may be anywhere.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

/**
 * Runs jobs in worker threads and streams their progress through the hub:
 * one channel per job, each event a tracked id, so any caller — this process
 * or another, now or after a disconnect — resumes where it left off.
 *
 * @example
 * const jobs = createJobManager({ hub, store: createFileJobStore(dir) });
 * await jobs.restore();
 * const { id } = await jobs.start({ kind: 'primes', upTo: 5_000_000 });
 */
export function createJobManager(opts: JobManagerOptions): JobManager {
  const { hub, store } = opts;
  const maxWorkers = opts.maxWorkers ?? Math.max(1, availableParallelism() - 1);
  const retentionMs = opts.retentionMs ?? 60 * 60 * 1000;
  const jobs = new Map<string, Live>();
  let closing = false;

  const fail = (error: unknown) => opts.onError?.(error instanceof Error ? error : new Error(String(error)));

  const live = (jobId: string): Live => {
    const job = jobs.get(jobId);
    if (!job) {
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `no job ${jobId.slice(0, 100)} on this server: it never existed, its result passed the ${Math.round(retentionMs / 1000)} s retention, or the server restarted without a data directory and lost it`,
      });
    }
    return job;
  };

  /** Publishes one event and moves the record's lastEventId, in order. */
  const emit = async (job: Live, event: ProgressEvent) => {
    const stored = await hub.publish(job.channel, event);
    job.record.lastEventId = stored.id;
  };
  const checkpoint = async (job: Live) => {
    if (!store) return;
    try {
      await store.save(job.record);
    } catch (error) {
      fail(error);
    }
  };
  const enqueue = (job: Live, step: () => Promise<void>) => {
    job.chain = job.chain.then(step).catch(fail);
    return job.chain;
  };

  const schedule = () => {
    if (closing) return;
    let running = [...jobs.values()].filter((j) => j.worker).length;
    for (const job of jobs.values()) {
      if (running >= maxWorkers) return;
      if (job.record.state !== 'queued') continue;
      running++;
      run(job);
    }
  };

  const finish = (job: Live) => {
    job.worker = undefined;
    job.record.finishedAt = new Date();
    schedule();
  };

  const run = (job: Live) => {
    const record = job.record;
    const resumed = record.partials.length > 0;
    record.state = 'running';
    record.startedAt ??= new Date();
    const worker = spawnWorker({ input: record.input, startAt: record.partials.length });
    job.worker = worker;
    void enqueue(job, async () => {
      await emit(job, { type: 'started', ...progressOf(record), resumed });
      await checkpoint(job);
    });
    worker.on('message', (message: WorkerMessage) => {
      if (job.worker !== worker) return;
      if (message.type === 'range') {
        void enqueue(job, async () => {
          if (record.state !== 'running' || message.index !== record.partials.length) return;
          record.partials.push(message.partial);
          await emit(job, { type: 'range', ...progressOf(record), partial: message.partial });
          await checkpoint(job);
        });
      } else {
        void enqueue(job, async () => {
          if (record.state !== 'running') return;
          record.result = combine(record.input, record.partials);
          record.state = 'done';
          finish(job);
          await emit(job, {
            type: 'done',
            ...progressOf(record),
            result: record.result,
            // Wall time since the first start, restarts included.
            elapsedMs: Date.now() - record.startedAt!.getTime(),
          });
          await checkpoint(job);
        });
      }
    });
    worker.on('error', (error) => {
      if (job.worker !== worker) return;
      void enqueue(job, async () => {
        record.state = 'failed';
        record.error = error.message;
        finish(job);
        await emit(job, { type: 'failed', ...progressOf(record), message: error.message });
        await checkpoint(job);
      });
    });
  };

  const add = (record: JobRecord): Live => {
    const job: Live = {
      record,
      channel: defineChannel(`jobs.progress.${record.id}`, progressEventSchema),
      chain: Promise.resolve(),
    };
    jobs.set(record.id, job);
    return job;
  };

  // Finished jobs keep their result for the retention period, then go.
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, job] of jobs) {
        const done = job.record.finishedAt;
        if (done && isFinished(job.record.state) && now - done.getTime() > retentionMs) {
          jobs.delete(id);
          void store?.remove(id).catch(fail);
        }
      }
    },
    Math.min(retentionMs, 30_000),
  );
  sweeper.unref();

  return {
    async restore() {
      if (!store) return 0;
      let resumed = 0;
      for (const record of await store.loadAll()) {
        const job = add({ ...record, lastEventId: null });
        // Every job has at least one event in this run's log, so a snapshot always carries a valid id.
        if (isFinished(record.state)) {
          await emit(job, { type: 'restored', ...progressOf(record), restarts: record.restarts });
          continue;
        }
        job.record.state = 'queued';
        job.record.restarts++;
        await emit(job, { type: 'restored', ...progressOf(job.record), restarts: job.record.restarts });
        await checkpoint(job);
        resumed++;
      }
      schedule();
      return resumed;
    },

    async start(input) {
      if (closing) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the server is stopping' });
      const record: JobRecord = {
        id: `job-${randomBytes(6).toString('hex')}`,
        input,
        state: 'queued',
        createdAt: new Date(),
        startedAt: null,
        finishedAt: null,
        partials: [],
        rangeCount: rangeCount(input),
        result: null,
        error: null,
        restarts: 0,
        lastEventId: null,
      };
      const job = add(record);
      await enqueue(job, async () => {
        await emit(job, { type: 'queued', ...progressOf(record) });
        await checkpoint(job);
      });
      schedule();
      return infoOf(record);
    },

    get(jobId) {
      return infoOf(live(jobId).record);
    },

    list() {
      const all = [...jobs.values()];
      return {
        jobs: all.map((j) => infoOf(j.record)).sort((a, b) => +b.createdAt - +a.createdAt),
        activeWorkers: all.filter((j) => j.worker).length,
        maxWorkers,
      };
    },

    async cancel(jobId) {
      const job = live(jobId);
      const record = job.record;
      if (isFinished(record.state)) return infoOf(record);
      const worker = job.worker;
      record.state = 'cancelled';
      finish(job);
      // terminate() stops the thread mid-range; its pending messages are ignored.
      await worker?.terminate();
      await enqueue(job, async () => {
        await emit(job, { type: 'cancelled', ...progressOf(record) });
        await checkpoint(job);
      });
      return infoOf(record);
    },

    async progress(jobId, lastEventId, signal) {
      const job = live(jobId);
      // Without an id: a snapshot of the record, then every event after the one it reflects.
      const snapshot =
        lastEventId === undefined
          ? {
              id: job.record.lastEventId!,
              event: {
                type: 'snapshot' as const,
                job: infoOf(job.record),
                partials: [...job.record.partials],
              },
            }
          : undefined;
      const sub = await hub.subscribe(job.channel, { after: lastEventId ?? snapshot!.id, signal });
      return (async function* (): AsyncGenerator<TrackedEnvelope<ProgressEvent>> {
        if (snapshot) {
          yield tracked(snapshot.id, snapshot.event as ProgressEvent);
          if (isTerminalEvent(snapshot.event)) return sub.end('done');
        }
        for await (const envelope of sub) {
          yield envelope as TrackedEnvelope<ProgressEvent>;
          if (isTerminalEvent(envelope[1] as ProgressEvent)) return;
        }
      })();
    },

    async close() {
      closing = true;
      clearInterval(sweeper);
      const workers = [...jobs.values()].flatMap((j) => (j.worker ? [j.worker] : []));
      for (const job of jobs.values()) job.worker = undefined;
      await Promise.all(workers.map((w) => w.terminate()));
      await Promise.all([...jobs.values()].map((j) => j.chain));
    },
  };
}
