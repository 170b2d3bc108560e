// node server/dist/main.js --port <n> --data <dir> [--token <secret>]
import { parseArgs } from 'node:util';
import { startServer } from './index.js';

const HELP = `usage: node server/dist/main.js --port <n> --data <dir> [--token <secret>]

  --port <n>        port to listen on (0 picks a free one; default 4000)
  --data <dir>      directory for the event log (default ./data)
  --token <secret>  require "Authorization: Bearer <secret>" (or set CORBEL_TOKEN)
  -h, --help        show this help`;

function fail(message: string): never {
  process.stderr.write(`server: ${message}\n`);
  process.exit(2);
}

let values: { port?: string; data?: string; token?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', default: '4000' },
      data: { type: 'string', default: './data' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0-65535, got "${values.port}"`);
const token = values.token ?? process.env.CORBEL_TOKEN;

const server = await startServer({ port, dataDir: values.data ?? './data', token: token || undefined });
// The one line scripts wait for: the port really chosen.
process.stdout.write(`listening on ${server.url}\n`);
if (!token) process.stderr.write('server: no token — open to anyone who can reach 127.0.0.1\n');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
