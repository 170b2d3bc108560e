// node client/dist/main.js --url <http://127.0.0.1:port> [--send <text>] [--token <secret>]
import { parseArgs } from 'node:util';
import { isHistoryGone } from '@corbel/client';
import { connect } from './index.js';

const HELP = `usage: node client/dist/main.js --url <server> [--send <text>] [--token <secret>]

  --url <url>       the server, e.g. http://127.0.0.1:4000
  --send <text>     send this message first (prints "sent <id>")
  --token <secret>  bearer token (or set CORBEL_TOKEN)
  -h, --help        show this help

prints one line per message: event <id> <text> <at ISO> <at is a Date>`;

function fail(message: string): never {
  process.stderr.write(`client: ${message}\n`);
  process.exit(2);
}

let values: { url?: string; send?: string; token?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      url: { type: 'string' },
      send: { type: 'string' },
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
if (!values.url) fail('--url is required');
const token = values.token ?? process.env.CORBEL_TOKEN;

const client = connect({
  url: values.url,
  token: token || undefined,
  onState: (state) => process.stderr.write(`state ${state}\n`),
});

if (values.send !== undefined) {
  try {
    const { id } = await client.messages.send.mutate({ text: values.send });
    process.stdout.write(`sent ${id}\n`);
  } catch (error) {
    // One line, e.g. "authentication required", not a stack: the server's message says what to fix.
    process.stderr.write(`client: send failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
process.on('SIGTERM', () => controller.abort());

// The client reconnects by itself and resumes after the last id it saw; this
// loop only starts afresh when the server no longer has that history.
let lastEventId: string | undefined;
while (!controller.signal.aborted) {
  try {
    const feed = client.messages.feed.subscribe(lastEventId ? { lastEventId } : {}, {
      signal: controller.signal,
    });
    for await (const { id, data } of feed) {
      lastEventId = id;
      process.stdout.write(`event ${id} ${data.text} ${data.at.toISOString()} ${data.at instanceof Date}\n`);
    }
  } catch (error) {
    if (controller.signal.aborted) break;
    if (isHistoryGone(error)) {
      process.stderr.write('client: history gone; following live messages from now on\n');
      lastEventId = undefined;
      continue;
    }
    process.stderr.write(`client: ${(error as Error).message}\n`);
    process.exitCode = 1;
    break;
  }
}
