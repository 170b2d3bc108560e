import { classifyError } from '../classify-error.js';
import { type ConnectionOptions, connect, procedureOf } from '../connection.js';
import { CliError, EXIT } from '../exit-codes.js';
import { readInput } from '../json-input.js';
import { procedureKind } from '../procedure-kind.js';
import { render, renderMode } from '../render.js';

export interface CallOptions extends ConnectionOptions {
  query?: boolean | undefined;
  mutation?: boolean | undefined;
  inputFile?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `corbel call <url> <procedure> [json-input]`: runs one query or mutation and prints its result.
 *
 * @example
 * await callCommand('http://127.0.0.1:4000', 'weather.latest', '{"city":"Oslo"}', { json: true });
 */
export async function callCommand(
  url: string,
  path: string,
  inputArg: string | undefined,
  opts: CallOptions,
): Promise<void> {
  if (opts.query && opts.mutation) {
    throw new CliError(EXIT.USAGE, 'usage', '--query and --mutation exclude each other');
  }
  const input = readInput(inputArg, opts.inputFile);
  const conn = connect(url, opts);
  const kind = opts.query ? 'query' : opts.mutation ? 'mutation' : await procedureKind(conn, path, input);
  if (kind === 'subscription') {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `${path} is an event channel (subscription): use corbel listen ${url} ${path}`,
    );
  }
  const client = conn.client();
  let result: unknown;
  try {
    const procedure = procedureOf(client, path);
    result = kind === 'query' ? await procedure.query(input) : await procedure.mutate(input);
  } catch (error) {
    throw classifyError(error, { url: conn.url, path });
  }
  const mode = renderMode(process.stdout, Boolean(opts.json));
  process.stdout.write(`${render(result, mode)}\n`);
}

export const CALL_HELP = `
Runs a query or a mutation and prints its result: readable and colourized on a
terminal, plain JSON when piped or with --json. Whether the procedure is a
query or a mutation is found out from the server (a GET, which a mutation
refuses before running) unless --query or --mutation says so.

The input is JSON: the argument, --input-file <file> ("-" for stdin), or
whatever is piped to stdin.

Examples:
  $ corbel call http://127.0.0.1:4000 weather.report '{"city":"Oslo","celsius":-3}'
  { id: '9f2c41d0-1' }
  $ corbel call http://127.0.0.1:4000 weather.latest '{"city":"Oslo"}'
  { city: 'Oslo', celsius: -3, at: 2026-11-22T00:49:29.838Z }
  $ echo '{"city":"Oslo"}' | corbel call http://127.0.0.1:4000 weather.latest --json | jq .celsius
  $ CORBEL_TOKEN=s3cret corbel call https://station:4443 weather.latest --input-file q.json --ca ca.pem`;
