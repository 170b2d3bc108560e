import { readFileSync } from 'node:fs';
import { type CorbelClientOptions, createCorbelClient, createNodeFetch } from '@corbel/client';
import { CliError, EXIT } from './exit-codes.js';

/** Options every network subcommand takes. */
export interface ConnectionOptions {
  token?: string | undefined;
  ca?: string | undefined;
  timeout?: string | undefined;
  basePath?: string | undefined;
}

export interface Connection {
  /** The server's origin, e.g. http://127.0.0.1:4000 */
  url: string;
  basePath: string;
  token: string | undefined;
  fetch: typeof fetch;
  /** Headers for raw requests (the bearer token). */
  headers: Record<string, string>;
  /** A Corbel client for the server, untyped: procedures are looked up by path. */
  client(extra?: Partial<CorbelClientOptions>): any;
}

/**
 * Validates the URL and options and prepares the fetch (with --ca) and the token (--token or CORBEL_TOKEN).
 *
 * @example
 * const conn = connect('https://station:4443', { ca: 'ca.pem' });
 */
export function connect(rawUrl: string, opts: ConnectionOptions): Connection {
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    throw new CliError(EXIT.USAGE, 'usage', `"${rawUrl}" is not a URL (expected e.g. http://127.0.0.1:4000)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(EXIT.USAGE, 'usage', `"${rawUrl}" must be an http:// or https:// URL`);
  }
  const basePath = `/${(opts.basePath ?? '/rpc').replace(/^\/+|\/+$/g, '')}`;
  // Accept both the origin and the origin with the base path.
  let path = parsed.pathname.replace(/\/+$/, '');
  if (path.endsWith(basePath)) path = path.slice(0, -basePath.length);
  const url = `${parsed.origin}${path}`;
  const token = opts.token ?? (process.env.CORBEL_TOKEN || undefined);
  let fetchImpl: typeof fetch = fetch;
  if (opts.ca) {
    let ca: Buffer;
    try {
      ca = readFileSync(opts.ca);
    } catch (error) {
      throw new CliError(EXIT.USAGE, 'usage', `cannot read --ca ${opts.ca}: ${(error as Error).message}`);
    }
    fetchImpl = createNodeFetch({ ca });
  }
  const timeoutMs = opts.timeout === undefined ? 30_000 : Number(opts.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `--timeout must be a number of milliseconds, got "${opts.timeout}"`,
    );
  }
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    url,
    basePath,
    token,
    fetch: fetchImpl,
    headers,
    client: (extra = {}) =>
      createCorbelClient<any>({ url, basePath, token, fetch: fetchImpl, timeoutMs, ...extra }),
  };
}

/**
 * The client's procedure object for a dotted path (`client.weather.report`).
 *
 * @example
 * await procedureOf(conn.client(), 'weather.latest').query({ city: 'Oslo' });
 */
export function procedureOf(client: any, path: string): any {
  return path.split('.').reduce((node, key) => node[key], client);
}
