/**
 * The worker-thread entry of a job: computes ranges `startAt..count-1` one
 * after another and posts each partial result to the main thread, so the
 * server's event loop never runs the computation. Cancel = `terminate()`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { computeRange, rangeAt, rangeCount, type StartInput, smallPrimes } from './job-kinds.js';

export interface WorkerInput {
  input: StartInput;
  startAt: number;
}

export type WorkerMessage =
  | { type: 'range'; index: number; partial: ReturnType<typeof computeRange> }
  | { type: 'finished' };

const { input, startAt } = workerData as WorkerInput;
const count = rangeCount(input);
const base = input.kind === 'primes' ? smallPrimes(Math.floor(Math.sqrt(input.upTo)) + 1) : undefined;
for (let index = startAt; index < count; index++) {
  const partial = computeRange(input, rangeAt(input, index), base);
  parentPort!.postMessage({ type: 'range', index, partial } satisfies WorkerMessage);
}
parentPort!.postMessage({ type: 'finished' } satisfies WorkerMessage);
