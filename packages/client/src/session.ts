/** What a session needs from a typed client: the `session.*` procedures of `createSessionRouter`. */
export interface SessionClient<M> {
  session: {
    open: {
      mutate(input: {
        resume?: string | undefined;
        cursors?: Record<string, string> | undefined;
      }): Promise<{ id: string; resumed: boolean; createdAt: Date; ttlMs: number }>;
    };
    messages: {
      subscribe(
        input: { id: string; lastEventId?: string },
        opts?: { signal?: AbortSignal | undefined },
      ): AsyncIterable<{ id: string; data: M }>;
    };
  };
}

export interface CorbelSession<M> {
  /** The 128-bit session id; a secret, like a JSESSIONID. */
  readonly id: string;
  /** Whether the last `open`/`reopen` found the session still alive on the server. */
  readonly resumed: boolean;
  /**
   * Opens the same session again (after a reconnect or a server restart),
   * telling the server which ids the app last processed per channel. When the
   * server no longer has it, a new session replaces it and `resumed` is false.
   */
  reopen(cursors?: Record<string, string>): Promise<boolean>;
  /**
   * The session's private messages, resumed by id across reconnects (the
   * stream keeps its last id, like any Corbel subscription).
   */
  messages(opts?: { signal?: AbortSignal | undefined }): AsyncIterable<{ id: string; data: M }>;
}

/**
 * Opens (or resumes, with `resume`) a session on a server that mounts
 * `createSessionRouter` at `session`. The returned object keeps the id, so
 * reconnects and server restarts reuse the same session.
 *
 * @example
 * const session = await openSession<{ text: string }>(client);
 * for await (const { data } of session.messages()) console.log(data.text);
 */
export async function openSession<M>(
  client: SessionClient<M>,
  opts: { resume?: string | undefined; cursors?: Record<string, string> | undefined } = {},
): Promise<CorbelSession<M>> {
  let current = await client.session.open.mutate({ resume: opts.resume, cursors: opts.cursors });
  return {
    get id() {
      return current.id;
    },
    get resumed() {
      return current.resumed;
    },
    async reopen(cursors) {
      current = await client.session.open.mutate({ resume: current.id, cursors });
      return current.resumed;
    },
    messages({ signal } = {}) {
      return client.session.messages.subscribe({ id: current.id }, { signal });
    },
  };
}
