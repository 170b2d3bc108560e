import superjson from 'superjson';
import { classifyError, fromErrorData } from './classify-error.js';
import type { Connection } from './connection.js';
import { CliError, EXIT } from './exit-codes.js';

export type Kind = 'query' | 'mutation' | 'subscription';

/**
 * Finds out what kind of procedure `path` is by asking the server the way
 * protocol.md allows without side effects: a GET runs a query (harmless),
 * opens a stream for a subscription (closed at once), and is refused with 405
 * for a mutation before it runs. Refusals (401, 404, 400 …) come back as
 * CliErrors, so a call fails fast with the server's own reason.
 *
 * @example
 * const kind = await probeKind(conn, 'weather.report', { city: 'Oslo', celsius: 1 }); // 'mutation'
 */
export async function probeKind(conn: Connection, path: string, input: unknown): Promise<Kind> {
  const abort = new AbortController();
  const query =
    input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  let res: Response;
  try {
    res = await conn.fetch(`${conn.url}${conn.basePath}/${encodeURIComponent(path)}${query}`, {
      headers: { ...conn.headers, accept: 'application/json' },
      signal: abort.signal,
    });
  } catch (error) {
    throw classifyError(error, { url: conn.url, path });
  }
  try {
    if (res.headers.get('content-type')?.includes('text/event-stream')) return 'subscription';
    if (res.status === 405) return 'mutation';
    if (res.ok) return 'query';
    const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
    if (body?.error && typeof body.error === 'object' && 'json' in body.error) {
      const shape = superjson.deserialize(body.error as any) as { message: string; data: any };
      throw fromErrorData(shape.message, shape.data ?? {}, { url: conn.url, path });
    }
    const message = (body?.error as { message?: string } | undefined)?.message ?? res.statusText;
    throw new CliError(
      res.status === 401 || res.status === 403 ? EXIT.AUTH : EXIT.SERVER_ERROR,
      'server error',
      `${res.status} ${message}`,
    );
  } finally {
    abort.abort();
  }
}
