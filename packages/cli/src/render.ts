import { inspect } from 'node:util';

/** How values are printed: colourized and readable on a terminal, plain JSON otherwise. */
export interface RenderMode {
  json: boolean;
  color: boolean;
}

/**
 * Chooses the mode: `--json`, or stdout not being a terminal, means plain
 * JSON; colour follows NO_COLOR / FORCE_COLOR and the terminal.
 *
 * @example
 * const mode = renderMode(process.stdout, false);
 */
export function renderMode(stream: NodeJS.WriteStream, forceJson: boolean): RenderMode {
  const tty = Boolean(stream.isTTY);
  const color = process.env.FORCE_COLOR ? process.env.FORCE_COLOR !== '0' : tty && !process.env.NO_COLOR;
  return { json: forceJson || !tty, color };
}

/**
 * Plain JSON for scripts: Dates as ISO strings, bigints as decimal strings,
 * Maps as objects (or [key, value] pairs when keys are not strings), Sets as
 * arrays.
 *
 * @example
 * toPlainJson({ at: new Date(0) }); // '{"at":"1970-01-01T00:00:00.000Z"}'
 */
export function toPlainJson(value: unknown, indent?: number): string {
  return JSON.stringify(value === undefined ? null : value, plainReplacer, indent) ?? 'null';
}

function plainReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) {
    const entries = [...value.entries()];
    return entries.every(([k]) => typeof k === 'string') ? Object.fromEntries(entries) : entries;
  }
  if (value instanceof Set) return [...value];
  if (value instanceof RegExp) return value.toString();
  return value;
}

/**
 * A readable rendering for people: JSON-like, with Dates, Maps, Sets and
 * bigints shown as themselves (`2026-11-22T00:49:29.838Z`, `Map(1) {…}`, `12n`).
 *
 * @example
 * toDisplay({ n: 12n }, { color: false }); // '{ n: 12n }'
 */
export function toDisplay(value: unknown, opts: { color: boolean; compact?: boolean }): string {
  return inspect(value, {
    colors: opts.color,
    depth: 8,
    breakLength: opts.compact ? Number.POSITIVE_INFINITY : 80,
    compact: opts.compact ? 8 : 3,
    sorted: false,
  });
}

/**
 * Renders one value in the chosen mode.
 *
 * @example
 * process.stdout.write(`${render(result, renderMode(process.stdout, false))}\n`);
 */
export function render(value: unknown, mode: RenderMode, compact = false): string {
  return mode.json ? toPlainJson(value) : toDisplay(value, { color: mode.color, compact });
}
