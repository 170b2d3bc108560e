import { type ConnectionState, createCorbelClient } from '@corbel/client';
import type { AppRouter } from '#contract';

export interface ConnectOptions {
  /** The server's origin, e.g. http://127.0.0.1:4000 (the client adds /rpc). */
  url: string;
  /** Sent as `Authorization: Bearer <token>` on every request and every stream (re)connect. */
  token?: string | undefined;
  /** Told when the event stream connects, goes live, reconnects or closes. */
  onState?: ((state: ConnectionState) => void) | undefined;
}

/**
 * A typed client for the service: `messages.send.mutate`, `messages.latest.query`
 * and `messages.feed.subscribe`, with inputs and results checked by the compiler.
 *
 * @example
 * const client = connect({ url: 'http://127.0.0.1:4000' });
 * const { id } = await client.messages.send.mutate({ text: 'hello' });
 */
export function connect(opts: ConnectOptions) {
  const { token, onState } = opts;
  return createCorbelClient<AppRouter>({
    url: opts.url,
    basePath: '/rpc',
    getToken: () => token,
    ...(onState ? { onStateChange: ({ state }) => onState(state) } : {}),
  });
}

export type AppClient = ReturnType<typeof connect>;
