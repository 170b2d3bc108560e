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
