/**
 * Measures how fast the jobs server answers `jobs.list` while idle and while a
 * worker computes primes up to 1e9:
 * `node --conditions=@corbel/source --import tsx apps/jobs/src/measure-responsiveness.ts`
 */
import { createCorbelClient } from '@corbel/client';
import { startJobsServer } from './jobs-server.js';
import type { JobsRouter } from './router.js';

await using server = await startJobsServer({ port: 0 });
const c = createCorbelClient<JobsRouter>({ url: server.url });
const idle: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  await c.jobs.list.query();
  idle.push(performance.now() - t);
}
const job = await c.jobs.start.mutate({ kind: 'primes', upTo: 1_000_000_000 });
const t0 = performance.now();
while ((await c.jobs.get.query({ jobId: job.id })).rangesDone < 1)
  await new Promise((r) => setTimeout(r, 20));
const busy: number[] = [];
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  await c.jobs.list.query();
  busy.push(performance.now() - t);
  await new Promise((r) => setTimeout(r, 10));
}
let info = await c.jobs.get.query({ jobId: job.id });
while (info.state !== 'done') {
  await new Promise((r) => setTimeout(r, 100));
  info = await c.jobs.get.query({ jobId: job.id });
}
const q = (a: number[], p: number) =>
  a
    .slice()
    .sort((x, y) => x - y)
    [Math.floor(a.length * p)]!.toFixed(2);
console.log(
  `jobs.list idle: p50 ${q(idle, 0.5)} ms p99 ${q(idle, 0.99)} ms; while primes 1e9 computes: p50 ${q(busy, 0.5)} ms p99 ${q(busy, 0.99)} ms max ${Math.max(...busy).toFixed(2)} ms (n=${busy.length})`,
);
console.log(
  `primes up to 1e9 in a worker: ${((performance.now() - t0) / 1000).toFixed(1)} s after first range; count ${info.result?.kind === 'primes' ? info.result.count : '?'}`,
);
