/** Where the client gets its bearer token: a fixed one, or a function asked on every connect. */
export interface AuthOptions {
  /** A fixed bearer token. */
  token?: string | undefined;
  /**
   * Asked on every command request and every event-stream (re)connect, so a
   * refreshed token is used as soon as it exists.
   */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Extra headers for every request (computed afresh each time when a function). */
  headers?:
    | (Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>))
    | undefined;
}

/** The headers for one request, computed now. */
export async function authHeaders(opts: AuthOptions): Promise<Record<string, string>> {
  const extra = typeof opts.headers === 'function' ? await opts.headers() : (opts.headers ?? {});
  const token = opts.getToken ? await opts.getToken() : opts.token;
  return token ? { ...extra, authorization: `Bearer ${token}` } : { ...extra };
}
