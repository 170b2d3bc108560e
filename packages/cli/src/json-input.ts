import { fstatSync, readFileSync } from 'node:fs';
import { CliError, EXIT } from './exit-codes.js';

/**
 * Parses JSON input, or fails with BAD_JSON naming the position (and line and
 * column) where parsing stopped.
 *
 * @example
 * parseJsonInput('{"city": "Oslo"}', 'the input argument'); // { city: 'Oslo' }
 */
export function parseJsonInput(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = Number(/position (\d+)/.exec(message)?.[1]);
    let where = '';
    if (Number.isFinite(position)) {
      const before = text.slice(0, position);
      const line = before.split('\n').length;
      const column = position - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    throw new CliError(EXIT.BAD_JSON, 'bad JSON', `${source} is not valid JSON${where}: ${reason}`);
  }
}

/**
 * The input of a call: the argument, `--input-file <file>` (`-` for stdin),
 * or piped stdin when neither is given. Undefined when there is none.
 *
 * @example
 * readInput(undefined, 'query.json');
 */
export function readInput(arg: string | undefined, inputFile: string | undefined): unknown {
  if (arg !== undefined && inputFile !== undefined) {
    throw new CliError(EXIT.USAGE, 'usage', 'give the input as an argument or with --input-file, not both');
  }
  if (arg === '-' || inputFile === '-') return parseOptional(readFileSync(0, 'utf8'), 'stdin');
  if (arg !== undefined) return parseJsonInput(arg, 'the input argument');
  if (inputFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(inputFile, 'utf8');
    } catch (error) {
      throw new CliError(
        EXIT.USAGE,
        'usage',
        `cannot read --input-file ${inputFile}: ${(error as Error).message}`,
      );
    }
    return parseJsonInput(text, inputFile);
  }
  // Only a real pipe or redirected file: never block on an inherited terminal or socket.
  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isFile()) return parseOptional(readFileSync(0, 'utf8'), 'stdin');
  return undefined;
}

function parseOptional(text: string, source: string): unknown {
  return text.trim() === '' ? undefined : parseJsonInput(text, source);
}
