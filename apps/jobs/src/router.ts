import { initCorbel } from '@corbel/core';
import { z } from 'zod';
import { startInputSchema } from './job-kinds.js';
import type { JobManager } from './job-manager.js';
import { jobInfoSchema } from './job-record.js';

/** What every jobs procedure may know about its caller. */
export interface JobsContext {
  identity: string | null;
}

const jobId = z.string().min(1).max(100).describe('A job id from jobs.start');

/**
 * The jobs contract: `jobs.start`, `jobs.progress`, `jobs.cancel`,
 * `jobs.list`, `jobs.get`.
 *
 * @example
 * const router = createJobsRouter({ jobs: createJobManager({ hub }) });
 */
export function createJobsRouter(deps: { jobs: JobManager }) {
  const { jobs } = deps;
  const t = initCorbel<JobsContext>();
  return t.router({
    jobs: t.router({
      start: t.procedure
        .meta({ description: 'Starts a job in a worker thread; returns at once with its id.' })
        .input(startInputSchema)
        .output(jobInfoSchema)
        .mutation(({ input }) => jobs.start(input)),

      progress: t.procedure
        .meta({
          description:
            'Progress of a job: without lastEventId a snapshot (every partial so far) then live events; with it, the events after it. Ends after done, cancelled or failed.',
        })
        .input(z.object({ jobId, lastEventId: z.string().max(100).optional() }))
        .subscription(({ input, signal }) => jobs.progress(input.jobId, input.lastEventId, signal)),

      cancel: t.procedure
        .meta({ description: 'Stops a queued or running job (its worker is terminated).' })
        .input(z.object({ jobId }))
        .output(jobInfoSchema)
        .mutation(({ input }) => jobs.cancel(input.jobId)),

      list: t.procedure
        .meta({ description: 'Running, queued and retained finished jobs, newest first.' })
        .output(z.object({ jobs: z.array(jobInfoSchema), activeWorkers: z.number(), maxWorkers: z.number() }))
        .query(() => jobs.list()),

      get: t.procedure
        .meta({ description: 'One job, with its result once done.' })
        .input(z.object({ jobId }))
        .output(jobInfoSchema)
        .query(({ input }) => jobs.get(input.jobId)),
    }),
  });
}

export type JobsRouter = ReturnType<typeof createJobsRouter>;
