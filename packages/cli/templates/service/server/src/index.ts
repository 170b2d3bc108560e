import { createHub } from '@corbel/core';
import { createCorbelServer, staticTokenAuth } from '@corbel/server';
import { openSqliteStore } from '@corbel/store-sqlite';
import { type AppContext, createAppRouter } from '#contract';

export interface ServerOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Directory for the event log (`<dataDir>/events.db`); created if missing. */
  dataDir: string;
  /** When set, every request and stream must carry `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Address to bind (default 127.0.0.1). */
  host?: string | undefined;
}

export interface RunningServer extends AsyncDisposable {
  /** Its origin, e.g. http://127.0.0.1:4000; procedures are under /rpc. */
  url: string;
  port: number;
  /** Ends open streams, stops listening, then closes the log. */
  close(): Promise<void>;
}

/**
 * Starts the service in this process: a hub on a SQLite event log, the
 * contract's router served at /rpc.
 *
 * @example
 * await using server = await startServer({ port: 0, dataDir: './data' });
 * console.log(server.url);
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const store = openSqliteStore({ dataDir: opts.dataDir });
  const hub = createHub({ log: store.log });
  const server = createCorbelServer({
    router: createAppRouter({ hub }),
    basePath: '/rpc',
    store: hub.log,
    ...(opts.token ? { authenticate: staticTokenAuth({ tokens: opts.token }) } : {}),
    createContext: ({ identity }): AppContext => ({ identity: identity?.id ?? null }),
  });
  const { url, port } = await server.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  const close = async () => {
    await server.close();
    await hub.close();
  };
  return { url, port, close, [Symbol.asyncDispose]: close };
}
