import { z } from 'zod';
import { type Partial, partialSchema, type Result, resultSchema, type StartInput } from './job-kinds.js';

export const JOB_STATES = ['queued', 'running', 'done', 'cancelled', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Everything the server knows about a job; also its checkpoint on disk. */
export interface JobRecord {
  id: string;
  input: StartInput;
  state: JobState;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Partial result of range i at index i; ranges finish in order, so this is the checkpoint. */
  partials: Partial[];
  rangeCount: number;
  result: Result | null;
  error: string | null;
  /** How many times the server restarted while the job was unfinished. */
  restarts: number;
  /** Id of the newest progress event this record reflects (in the current log). */
  lastEventId: string | null;
}

export const jobInfoSchema = z.object({
  id: z.string(),
  kind: z.enum(['primes', 'collatz']),
  upTo: z.number(),
  state: z.enum(JOB_STATES),
  percent: z.number(),
  rangesDone: z.number(),
  rangeCount: z.number(),
  createdAt: z.date(),
  finishedAt: z.date().nullable(),
  result: resultSchema.nullable(),
  error: z.string().nullable(),
  restarts: z.number(),
});
export type JobInfo = z.output<typeof jobInfoSchema>;

const progressBase = {
  percent: z.number().min(0).max(100),
  rangesDone: z.number(),
  rangeCount: z.number(),
};

/** One event of `jobs.progress`, discriminated on `type`. */
export const progressEventSchema = z.discriminatedUnion('type', [
  /** The first event of a stream opened without lastEventId: the job as it stands, with every partial so far. */
  z.object({ type: z.literal('snapshot'), job: jobInfoSchema, partials: z.array(partialSchema) }),
  z.object({ type: z.literal('queued'), ...progressBase }),
  /** The server restarted and will resume the job after its last finished range. */
  z.object({ type: z.literal('restored'), ...progressBase, restarts: z.number() }),
  z.object({ type: z.literal('started'), ...progressBase, resumed: z.boolean() }),
  z.object({ type: z.literal('range'), ...progressBase, partial: partialSchema }),
  z.object({ type: z.literal('done'), ...progressBase, result: resultSchema, elapsedMs: z.number() }),
  z.object({ type: z.literal('cancelled'), ...progressBase }),
  z.object({ type: z.literal('failed'), ...progressBase, message: z.string() }),
]);
export type ProgressEvent = z.output<typeof progressEventSchema>;

/** Events after which a progress stream ends. */
export const isTerminalEvent = (event: ProgressEvent): boolean =>
  event.type === 'done' ||
  event.type === 'cancelled' ||
  event.type === 'failed' ||
  (event.type === 'snapshot' && isFinished(event.job.state));

export const isFinished = (state: JobState): boolean =>
  state === 'done' || state === 'cancelled' || state === 'failed';

export function progressOf(record: JobRecord) {
  const rangesDone = record.partials.length;
  return {
    rangesDone,
    rangeCount: record.rangeCount,
    percent: record.state === 'done' ? 100 : Math.floor((rangesDone / record.rangeCount) * 1000) / 10,
  };
}

export function infoOf(record: JobRecord): JobInfo {
  const { percent, rangesDone, rangeCount } = progressOf(record);
  return {
    id: record.id,
    kind: record.input.kind,
    upTo: record.input.upTo,
    state: record.state,
    percent,
    rangesDone,
    rangeCount,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    result: record.result,
    error: record.error,
    restarts: record.restarts,
  };
}
