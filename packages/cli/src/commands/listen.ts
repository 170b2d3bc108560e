import { classifyError } from '../classify-error.js';
import { type ConnectionOptions, connect, procedureOf } from '../connection.js';
import { durablePrinter } from '../durable-printer.js';
import { CliError, EXIT } from '../exit-codes.js';
import { readInput } from '../json-input.js';
import { probeKind, procedureKind } from '../procedure-kind.js';
import { render, renderMode } from '../render.js';

export interface ListenOptions extends ConnectionOptions {
  since?: string | undefined;
  count?: string | undefined;
  inputFile?: string | undefined;
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  /** auto (default), sse or long-poll. */
  transport?: string | undefined;
  /** Listen as this durable consumer: the server keeps what was printed. */
  durable?: string | undefined;
}

const TRANSPORTS = ['auto', 'sse', 'long-poll'] as const;

/**
 * `corbel listen <url> <channel> [json-input]`: prints every event with its
 * id, one line each; connection state goes to stderr; resumes by id across
 * disconnects; `--count` stops after N events; Ctrl-C stops with a count.
 *
 * @example
 * await listenCommand('http://127.0.0.1:4000', 'weather.readings', undefined, { count: '1', json: true });
 */
export async function listenCommand(
  url: string,
  path: string,
  inputArg: string | undefined,
  opts: ListenOptions,
): Promise<void> {
  const count = opts.count === undefined ? undefined : Number(opts.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw new CliError(EXIT.USAGE, 'usage', `--count must be a whole number above 0, got "${opts.count}"`);
  }
  let transport = opts.transport ?? 'auto';
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new CliError(EXIT.USAGE, 'usage', `--transport must be auto, sse or long-poll, got "${transport}"`);
  }
  if (opts.durable !== undefined) {
    // The server holds a durable consumer's position and its stream; it travels as an event stream.
    if (transport === 'long-poll' || opts.since !== undefined) {
      throw new CliError(
        EXIT.USAGE,
        'usage',
        "--durable reads the event stream from the server's position: drop --since and --transport long-poll",
      );
    }
    transport = 'sse';
  }
  const raw = readInput(inputArg, opts.inputFile);
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new CliError(EXIT.USAGE, 'usage', 'the input of a channel must be a JSON object');
  }
  const input: Record<string, unknown> = { ...(raw as object | undefined) };
  if (opts.since !== undefined) input.lastEventId = opts.since;
  if (opts.durable !== undefined) input.consumer = opts.durable;
  const conn = connect(url, opts);
  const status = (line: string) => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
  };

  status(`connecting to ${conn.url}${conn.basePath}/${path}…`);
  // A channel's input is an object; with nothing given, `{}` (every event, from now).
  const kind = await procedureKind(conn, path, input);
  if (kind !== 'subscription') {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `${path} is a ${kind}, not an event channel: use corbel call ${url} ${path}`,
    );
  }
  // Open and close the stream once, so refusals (bad input, a forgotten --since, 401) end the command now.
  await probeKind(conn, path, input, { longPoll: transport !== 'sse' });

  const mode = renderMode(process.stdout, Boolean(opts.json));
  let received = 0;
  let attempts = 0;
  await new Promise<void>((resolve, reject) => {
    const client = conn.client({
      transport: transport as (typeof TRANSPORTS)[number],
      onStateChange: ({ state, error, transport: over }) => {
        if (state === 'live') {
          attempts = 0;
          // Said only when events come over long polls, so the usual line stays "live".
          status(over === 'long-poll' ? 'live (long polling)' : 'live');
        } else if (state === 'reconnecting') {
          attempts++;
          const why = error?.message ? ` (${error.message.slice(0, 120)})` : '';
          status(`reconnecting, attempt ${attempts}${why}…`);
        }
      },
    });
    let subscription: { unsubscribe(): void } | undefined;
    let finished = false;
    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      subscription?.unsubscribe();
      if (error) reject(error);
      else resolve();
    };
    const onSignal = () => {
      status(`\nreceived ${received} event${received === 1 ? '' : 's'}`);
      finish();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const print = (id: string | undefined, data: unknown) => {
      if (finished) return;
      received++;
      process.stdout.write(
        mode.json ? `${render({ id, data }, mode)}\n` : `${id ?? '-'}  ${render(data, mode, true)}\n`,
      );
      if (count !== undefined && received >= count) finish();
    };
    const durable =
      opts.durable === undefined
        ? undefined
        : durablePrinter(
            client,
            path,
            opts.durable,
            print,
            (error) => status(`acknowledging: ${(error as Error).message}`),
            () => finished,
          );
    subscription = procedureOf(client, path).subscribe(input, {
      onData: (envelope: unknown) => {
        const { id, data } = unwrap(envelope);
        if (durable && id !== undefined) durable({ id, data });
        else print(id, data);
      },
      onError: (error: unknown) => finish(classifyError(error, { url: conn.url, path })),
      onComplete: () => {
        if (finished) return;
        status(`the server ended the stream after ${received} event${received === 1 ? '' : 's'}`);
        finish();
      },
    });
  });
}

/** A tracked event arrives as `{ id, data }`; an untracked one as the data itself. */
function unwrap(envelope: unknown): { id: string | undefined; data: unknown } {
  if (envelope && typeof envelope === 'object' && 'id' in envelope && 'data' in envelope) {
    const { id, data } = envelope as { id: unknown; data: unknown };
    if (typeof id === 'string') return { id, data };
  }
  return { id: undefined, data: envelope };
}
