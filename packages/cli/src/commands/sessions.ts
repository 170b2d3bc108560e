import type { LiveSession } from '@corbel/core';
import { classifyError } from '../classify-error.js';
import { type ConnectionOptions, connect, procedureOf } from '../connection.js';
import { CliError, EXIT } from '../exit-codes.js';
import { toPlainJson } from '../render.js';

/** The sessions list query every Corbel session router offers (`createSessionRouter` mounted as `session`). */
export const SESSIONS_PROCEDURE = 'session.list';

/**
 * `corbel sessions <url>`: the server's live sessions in a table.
 *
 * @example
 * await sessionsCommand('http://127.0.0.1:4000', { token: process.env.CORBEL_TOKEN });
 */
export async function sessionsCommand(
  url: string,
  opts: ConnectionOptions & { json?: boolean; procedure?: string },
): Promise<void> {
  const path = opts.procedure ?? SESSIONS_PROCEDURE;
  const conn = connect(url, opts);
  let rows: LiveSession[];
  try {
    rows = (await procedureOf(conn.client(), path).query()) as LiveSession[];
  } catch (error) {
    const cli = classifyError(error, { url: conn.url, path });
    if (cli.exitCode === EXIT.NOT_FOUND) {
      throw new CliError(
        EXIT.NOT_FOUND,
        'no sessions procedure',
        `${conn.url} has no sessions procedure "${path}": this server does not list sessions (mount createSessionRouter as "session", or pass --procedure <path>)`,
        { cause: error },
      );
    }
    throw cli;
  }
  // A table whether or not stdout is a terminal (it is text either way); --json for scripts.
  if (opts.json) {
    process.stdout.write(`${toPlainJson(rows)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('no live sessions\n');
    return;
  }
  const now = Date.now();
  const table = [
    ['SESSION', 'OWNER', 'SINCE', 'LAST SEEN', 'EXPIRES IN', 'STREAMS'],
    ...rows.map((r) => [
      r.ref,
      r.owner,
      iso(r.createdAt),
      `${ago(now - time(r.lastSeenAt))} ago`,
      ago(time(r.expiresAt) - now),
      String(r.streams),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  process.stdout.write(`${rows.length} live session${rows.length === 1 ? '' : 's'}\n`);
}

function time(d: Date | string | number): number {
  return new Date(d).getTime();
}

function iso(d: Date | string | number): string {
  return new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
