import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startJobsServer } from './jobs-server.js';

const HELP = `jobs server — runs long jobs in worker threads and streams their progress

usage: npm run jobs:server -- [--port <n>] [--data <dir>] [--token <secret>]
                              [--retention <seconds>] [--max-workers <n>] [--host <addr>]

  --port <n>             port to listen on (0 picks a free one; default 4100)
  --data <dir>           keep job checkpoints here: unfinished jobs resume after a
                         restart; without it jobs live in memory and a restart loses them
  --token <secret>       require "Authorization: Bearer <secret>" (or set CORBEL_TOKEN)
  --retention <seconds>  how long finished jobs keep their result (default 3600)
  --max-workers <n>      jobs computing at once (default: cores - 1)
  --host <addr>          address to bind (default 127.0.0.1)
  -h, --help             show this help

prints "listening on http://127.0.0.1:<port>" once it accepts connections.`;

function fail(message: string): never {
  process.stderr.write(`jobs-server: ${message}\n\nrun with --help for usage\n`);
  process.exit(2);
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number, got "${value}"`);
  return n;
}

async function main() {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '4100' },
        data: { type: 'string' },
        token: { type: 'string' },
        retention: { type: 'string' },
        'max-workers': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const port = positiveInt('port', values.port as string)!;
  if (port > 65535) fail(`--port must be 0-65535, got "${values.port}"`);
  const dataDir = values.data as string | undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const retention = positiveInt('retention', values.retention as string | undefined);
  const token = (values.token as string | undefined) ?? process.env.CORBEL_TOKEN ?? undefined;
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const server = await startJobsServer({
    port,
    host: values.host as string,
    dataDir,
    token: token || undefined,
    retentionMs: retention === undefined ? undefined : retention * 1000,
    maxWorkers: positiveInt('max-workers', values['max-workers'] as string | undefined),
    onError: (error) => process.stderr.write(`jobs-server: ${error.message}\n`),
  });
  say(`listening on ${server.url}`);
  say(
    dataDir
      ? `jobs: checkpoints in ${dataDir}; resumed ${server.resumed} unfinished job(s)`
      : 'jobs: no --data, so jobs live in memory only and a restart loses them',
  );
  say(token ? 'auth: bearer token required' : 'auth: none — running open on loopback');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: draining; unfinished jobs ${dataDir ? 'keep their checkpoint' : 'are lost'}`);
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  process.stderr.write(`jobs-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
