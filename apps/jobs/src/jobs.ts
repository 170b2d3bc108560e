/**
 * The jobs client: `npm run jobs -- primes 5000000` starts a job and follows
 * it with a progress bar and ETA until it prints the result.
 *
 * Across a server restart: when the server keeps checkpoints (`--data`), the
 * job resumes after its last finished range and so does the bar; when it
 * does not, the server no longer knows the job and the client says it was
 * lost, and why (exit code 3).
 */
import { parseArgs } from 'node:util';
import { corbelCodeOf, createCorbelClient, isHistoryGone, trpcCodeOf } from '@corbel/client';
import cliProgress from 'cli-progress';
import type { JobInfo, ProgressEvent } from './job-record.js';
import type { JobsRouter } from './router.js';

const HELP = `jobs — start long jobs and follow their progress

usage: npm run jobs -- primes <upTo>      count the primes up to <upTo>
       npm run jobs -- collatz <upTo>     the longest Collatz chain below <upTo>
       npm run jobs -- watch <jobId>      follow a job started elsewhere
       npm run jobs -- list               running and finished jobs
       npm run jobs -- cancel <jobId>     stop a job

  --url <url>       the jobs server (default $JOBS_URL or http://127.0.0.1:4100)
  --token <secret>  bearer token (or set CORBEL_TOKEN)
  --detach          start the job and print its id without following it
  -h, --help        show this help

Ctrl-C stops following; the job keeps running on the server.
exit codes: 0 done, 1 error, 2 usage, 3 job lost, 4 job cancelled or failed`;

const say = (line: string) => process.stdout.write(`${line}\n`);
function usage(message: string): never {
  process.stderr.write(`jobs: ${message}\n\nrun with --help for usage\n`);
  process.exit(2);
}

function describeResult(job: Pick<JobInfo, 'result'>): string {
  const r = job.result;
  if (!r) return 'no result';
  if (r.kind === 'primes')
    return `${r.count.toLocaleString('en-US')} primes up to ${r.upTo.toLocaleString('en-US')} (largest ${r.largest ?? '-'}, sum ${r.sum})`;
  return `longest Collatz chain below ${r.upTo.toLocaleString('en-US')} starts at ${r.start}: ${r.steps} steps`;
}

async function main() {
  let parsed: ReturnType<typeof parseArgs<{ options: any; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        detach: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    usage((error as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const [command, arg] = parsed.positionals;
  if (values.help || !command) {
    say(HELP);
    return;
  }
  const url = (values.url as string | undefined) ?? process.env.JOBS_URL ?? 'http://127.0.0.1:4100';
  serverUrl = url;
  const token = (values.token as string | undefined) ?? process.env.CORBEL_TOKEN;
  const interactive = Boolean(process.stdout.isTTY);
  let bar: cliProgress.SingleBar | undefined;
  let reconnecting = false;
  const note = (line: string) => {
    if (bar && interactive) bar.stop();
    say(line);
    if (bar && interactive) bar.start(bar.getTotal(), (bar as any).value ?? 0);
  };
  const client = createCorbelClient<JobsRouter>({
    url,
    getToken: () => token,
    onStateChange: ({ state, error }) => {
      if (state === 'reconnecting' && !reconnecting) {
        reconnecting = true;
        note(`-- connection lost${error ? ` (${error.message})` : ''}; reconnecting…`);
      } else if (state === 'live' && reconnecting) {
        reconnecting = false;
        note('-- reconnected');
      }
    },
  });

  if (command === 'list') {
    const { jobs, activeWorkers, maxWorkers } = await client.jobs.list.query();
    say(`${jobs.length} job(s), ${activeWorkers}/${maxWorkers} worker(s) busy`);
    for (const j of jobs)
      say(
        `${j.id}  ${j.kind} ${j.upTo}  ${j.state.padEnd(9)} ${String(j.percent).padStart(5)}%  ${j.state === 'done' ? describeResult(j) : (j.error ?? '')}`,
      );
    return;
  }
  if (command === 'cancel') {
    if (!arg) usage('cancel needs a job id');
    const job = await client.jobs.cancel.mutate({ jobId: arg });
    say(`${job.id} ${job.state} at ${job.percent}%`);
    return;
  }

  let jobId: string;
  if (command === 'watch') {
    if (!arg) usage('watch needs a job id');
    jobId = arg;
  } else if (command === 'primes' || command === 'collatz') {
    const upTo = Number(arg);
    if (!arg || !Number.isInteger(upTo)) usage(`${command} needs a whole number, e.g. ${command} 5000000`);
    const job = await client.jobs.start.mutate({ kind: command, upTo });
    jobId = job.id;
    say(`started ${job.id}: ${command} up to ${upTo.toLocaleString('en-US')} in ${job.rangeCount} ranges`);
    if (values.detach) return;
  } else {
    usage(`unknown command "${command}"`);
  }

  const controller = new AbortController();
  process.on('SIGINT', () => {
    controller.abort();
    bar?.stop();
    say(`stopped following; ${jobId} keeps running — npm run jobs -- watch ${jobId}`);
    process.exit(130);
  });

  bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | ETA {eta_formatted} | {value}/{total} ranges | {found}',
      hideCursor: interactive,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const show = (rangesDone: number, rangeCount: number, found: string) => {
    if (!started) {
      bar!.start(rangeCount, rangesDone, { found });
      started = true;
    } else bar!.update(rangesDone, { found });
  };
  let found = 0n;
  let best = { start: 0, steps: -1 };
  let foundLabel = '';
  const track = (partials: { kind: string; count?: number; steps?: number; start?: number }[]) => {
    for (const p of partials) {
      if (p.kind === 'primes') {
        found += BigInt(p.count ?? 0);
        foundLabel = `${found.toLocaleString('en-US')} primes so far`;
      } else if (p.kind === 'collatz' && (p.steps ?? 0) > best.steps) {
        best = { start: p.start ?? 0, steps: p.steps ?? 0 };
        foundLabel = `best so far: ${best.start} (${best.steps} steps)`;
      }
    }
  };

  let lastEventId: string | undefined;
  for (;;) {
    try {
      const stream = client.jobs.progress.subscribe({ jobId, lastEventId }, { signal: controller.signal });
      for await (const { id, data } of stream as AsyncIterable<{ id: string; data: ProgressEvent }>) {
        lastEventId = id;
        switch (data.type) {
          case 'snapshot': {
            const job = data.job;
            found = 0n;
            best = { start: 0, steps: -1 };
            track(data.partials);
            if (job.restarts > 0 && started)
              note(
                `-- the server restarted; the job resumed from its checkpoint at ${job.percent}% (${job.rangesDone}/${job.rangeCount} ranges)`,
              );
            show(job.rangesDone, job.rangeCount, foundLabel);
            if (job.state === 'done') return finish(`done: ${describeResult(job)}`, 0);
            if (job.state === 'cancelled') return finish(`${jobId} was cancelled at ${job.percent}%`, 4);
            if (job.state === 'failed') return finish(`${jobId} failed: ${job.error}`, 4);
            break;
          }
          case 'range':
            track([data.partial]);
            show(data.rangesDone, data.rangeCount, foundLabel);
            break;
          case 'restored':
            note(
              `-- the server restarted (restart #${data.restarts}); resuming from the checkpoint at ${data.percent}% (${data.rangesDone}/${data.rangeCount} ranges)`,
            );
            break;
          case 'done':
            show(data.rangeCount, data.rangeCount, foundLabel);
            return finish(
              `done in ${(data.elapsedMs / 1000).toFixed(1)} s: ${describeResult({ result: data.result })}`,
              0,
            );
          case 'cancelled':
            return finish(`${jobId} was cancelled at ${data.percent}%`, 4);
          case 'failed':
            return finish(`${jobId} failed: ${data.message}`, 4);
        }
      }
    } catch (error) {
      if (isHistoryGone(error) || corbelCodeOf(error) === 'INVALID_EVENT_ID') {
        // The server's event log started afresh (a restart): ask for a snapshot.
        lastEventId = undefined;
        continue;
      }
      if (trpcCodeOf(error) === 'NOT_FOUND') {
        return finish(
          `job ${jobId} was lost: ${(error as Error).message}. A server started without --data keeps jobs only in memory; start it with --data <dir> so jobs resume after a restart, then run the job again.`,
          3,
        );
      }
      throw error;
    }
  }

  function finish(line: string, code: number) {
    bar?.stop();
    say(line);
    process.exitCode = code;
  }
}

let serverUrl = '';
main().catch((error) => {
  const message = error instanceof Error ? error.message : String(error);
  const unreachable = trpcCodeOf(error) === null && /fetch failed|ECONNREFUSED/.test(message);
  process.stderr.write(
    unreachable
      ? `jobs: cannot reach a jobs server at ${serverUrl} (${message}); start one with npm run jobs:server, or pass --url\n`
      : `jobs: ${message}\n`,
  );
  process.exit(1);
});
