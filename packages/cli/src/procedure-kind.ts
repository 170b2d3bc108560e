import { CONTRACT_PROCEDURE, type ContractDocument } from '@corbel/core/contract';
import { closestNames } from '@corbel/core/internal';
import superjson from 'superjson';
import { classifyError, fromErrorData } from './classify-error.js';
import type { Connection } from './connection.js';
import { CliError, EXIT } from './exit-codes.js';

export type Kind = 'query' | 'mutation' | 'subscription';

/**
 * What kind of procedure `path` is. From the server's own contract
 * (`corbel.contract`) when it serves one — an unknown path is then refused
 * here, with the closest known names — otherwise by a side-effect-free probe.
 *
 * @example
 * const kind = await procedureKind(conn, 'weather.report', { city: 'Oslo', celsius: 1 }); // 'mutation'
 */
export async function procedureKind(conn: Connection, path: string, input: unknown): Promise<Kind> {
  const contract = await fetchServedContract(conn);
  if (!contract) return probeKind(conn, path, input);
  const procedure = contract.procedures.find((p) => p.path === path);
  if (procedure) return procedure.kind;
  const near = closestNames(
    path,
    contract.procedures.map((p) => p.path),
  );
  throw new CliError(
    EXIT.NOT_FOUND,
    'unknown procedure',
    `no procedure "${path}"${near.length ? ` — did you mean ${near.join(', ')}?` : ` (known: ${contract.procedures.map((p) => p.path).join(', ')})`}`,
  );
}

/**
 * The contract a server serves as `corbel.contract`, or null when it serves
 * none (404). Other refusals (401, …) are thrown as CliErrors.
 *
 * @example
 * const contract = await fetchServedContract(conn); // null when the server serves no contract
 */
export async function fetchServedContract(conn: Connection): Promise<ContractDocument | null> {
  const res = await send(conn, CONTRACT_PROCEDURE, undefined);
  try {
    if (res.status === 404) return null;
    if (res.ok) {
      const body = (await res.json()) as { result?: { data?: unknown } };
      return superjson.deserialize(body.result?.data as any) as ContractDocument;
    }
    throw await refusal(res, conn, CONTRACT_PROCEDURE);
  } finally {
    await res.body?.cancel().catch(() => {});
  }
}

/**
 * Finds out the kind by asking the way protocol.md allows without side
 * effects: a GET runs a query (harmless), opens a stream for a subscription
 * (closed at once), and is refused with 405 for a mutation before it runs.
 * Refusals (401, 404, 400 …) come back as CliErrors, so a call fails fast
 * with the server's own reason.
 *
 * @example
 * const kind = await probeKind(conn, 'weather.report', { city: 'Oslo', celsius: 1 }); // 'mutation'
 */
export async function probeKind(
  conn: Connection,
  path: string,
  input: unknown,
  opts: { longPoll?: boolean | undefined } = {},
): Promise<Kind> {
  // A long poll that does not wait: a complete answer even where a proxy holds event streams back.
  const res = await send(conn, path, input, opts.longPoll ? 'longPoll=1&wait=0' : undefined);
  try {
    if (res.headers.get('content-type')?.includes('text/event-stream')) return 'subscription';
    if (opts.longPoll && res.ok) {
      const body = (await res.json().catch(() => null)) as {
        result?: { data?: { events?: unknown } } | undefined;
      } | null;
      return Array.isArray(body?.result?.data?.events) ? 'subscription' : 'query';
    }
    if (res.status === 405) return 'mutation';
    if (res.ok) return 'query';
    throw await refusal(res, conn, path);
  } finally {
    await res.body?.cancel().catch(() => {});
  }
}

async function send(conn: Connection, path: string, input: unknown, extra?: string): Promise<Response> {
  let query =
    input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  if (extra) query += `${query ? '&' : '?'}${extra}`;
  try {
    return await conn.fetch(`${conn.url}${conn.basePath}/${encodeURIComponent(path)}${query}`, {
      headers: { ...conn.headers, accept: 'application/json' },
    });
  } catch (error) {
    throw classifyError(error, { url: conn.url, path });
  }
}

/** The CliError for a refused request, from its error document (protocol.md §6.1). */
async function refusal(res: Response, conn: Connection, path: string): Promise<CliError> {
  const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
  if (body?.error && typeof body.error === 'object' && 'json' in body.error) {
    const shape = superjson.deserialize(body.error as any) as { message: string; data: any };
    return fromErrorData(shape.message, shape.data ?? {}, { url: conn.url, path });
  }
  const message = (body?.error as { message?: string } | undefined)?.message ?? res.statusText;
  return new CliError(
    res.status === 401 || res.status === 403 ? EXIT.AUTH : EXIT.SERVER_ERROR,
    'server error',
    `${res.status} ${message}`,
  );
}
