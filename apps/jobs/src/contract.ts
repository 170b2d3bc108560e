import type { ContractSource } from '@corbel/core/contract';
import type { JobManager } from './job-manager.js';
import { progressEventSchema } from './job-record.js';
import { createJobsRouter } from './router.js';

/**
 * The jobs service's contract source, for `npm run docs` and
 * `corbel contract export apps/jobs/src/contract.ts`. Exporting reads the
 * router's schemas and never calls a procedure, so no job manager (workers,
 * timers) is started: the resolvers' dependency is left empty.
 */
export const contractSource: ContractSource = {
  service: 'jobs',
  description:
    'Long-running jobs in worker threads whose progress streams to the caller; progress resumes by id after a disconnect or a server restart.',
  router: createJobsRouter({ jobs: {} as JobManager }),
  // Each job publishes on its own channel, jobs.progress.<jobId>, with this payload.
  events: { 'jobs.progress': progressEventSchema },
};
