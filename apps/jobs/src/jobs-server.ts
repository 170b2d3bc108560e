import { createHub, createMemoryLog, type EventLog } from '@corbel/core';
import { type CorbelServer, createCorbelServer, staticTokenAuth } from '@corbel/server';
import { createJobManager, type JobManager } from './job-manager.js';
import { createFileJobStore } from './job-store.js';
import { createJobsRouter, type JobsContext } from './router.js';

export interface JobsServerOptions {
  port?: number;
  host?: string;
  /** Checkpoints go here; without it, jobs live only in memory and are lost on restart. */
  dataDir?: string;
  /** When set, every request and stream must carry `Authorization: Bearer <token>`. */
  token?: string;
  maxWorkers?: number;
  retentionMs?: number;
  log?: EventLog;
  onError?: (error: Error) => void;
}

export interface JobsServer extends AsyncDisposable {
  url: string;
  port: number;
  server: CorbelServer;
  jobs: JobManager;
  /** Unfinished jobs resumed from checkpoints at start-up. */
  resumed: number;
  close(): Promise<void>;
}

/**
 * Starts a jobs server in this process: restores checkpoints, then serves
 * the jobs router at /rpc.
 *
 * @example
 * await using server = await startJobsServer({ port: 0, dataDir });
 */
export async function startJobsServer(opts: JobsServerOptions = {}): Promise<JobsServer> {
  const hub = createHub({ log: opts.log ?? createMemoryLog() });
  const store = opts.dataDir ? createFileJobStore(opts.dataDir) : undefined;
  const jobs = createJobManager({
    hub,
    store,
    maxWorkers: opts.maxWorkers,
    retentionMs: opts.retentionMs,
    onError: opts.onError,
  });
  const resumed = await jobs.restore();
  const server = createCorbelServer({
    router: createJobsRouter({ jobs }),
    authenticate: opts.token === undefined ? undefined : staticTokenAuth({ tokens: opts.token }),
    createContext: ({ identity }): JobsContext => ({ identity: identity?.id ?? null }),
  });
  const { url, port } = await server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const close = async () => {
    await server.close();
    // Workers stop after the streams: unfinished jobs keep their checkpoint and resume next start.
    await jobs.close();
    await hub.close();
    store?.close();
  };
  return { url, port, server, jobs, resumed, close, [Symbol.asyncDispose]: close };
}
