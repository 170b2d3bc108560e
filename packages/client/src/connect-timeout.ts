/** What a Corbel server announces in its `connected` frame (protocol.md section 4.2). */
const ANNOUNCED = /"reconnectAfterInactivityMs"\s*:\s*(\d+)/;

export interface ConnectTimeoutOptions {
  /** How long a connect may go unanswered; without it, the server's last announced inactivity timeout, else 25 s. */
  timeoutMs?: number | undefined;
}

/**
 * The fetch under every event-stream connect, giving up on one that gets no
 * answer in time: not its headers, nor the first bytes of its body (the
 * `connected` frame, or a refusal). tRPC's link runs its inactivity timer
 * only after a `connected` frame, so a first connect to an instance that
 * accepts and never answers (a frozen process) otherwise waits for undici's
 * 5-minute headers timeout. Given up with a TimeoutError (which EventSource,
 * unlike an AbortError, retries, with the backoff), and a connect given up
 * before its headers counts against its instance (failover.ts). The limit is
 * the inactivity timeout a server last announced to this client, which a
 * reconnect is held to as well, unless `timeoutMs` sets one. Make one per
 * client: what it learns is shared by the client's streams.
 *
 * @example
 * const streamFetch = connectTimeoutFetch(fetch, { timeoutMs: 10_000 });
 */
export function connectTimeoutFetch(baseFetch: typeof fetch, opts: ConnectTimeoutOptions = {}): typeof fetch {
  let announcedMs: number | undefined;
  return async (input, init) => {
    const ms = opts.timeoutMs ?? announcedMs ?? 25_000;
    const giveUp = new AbortController();
    const timer = setTimeout(
      () =>
        giveUp.abort(
          new DOMException(`the server sent nothing for ${ms} ms after the connect`, 'TimeoutError'),
        ),
      ms,
    );
    const signal = init?.signal ? AbortSignal.any([init.signal, giveUp.signal]) : giveUp.signal;
    let res: Response;
    try {
      res = await baseFetch(input, { ...init, signal });
    } catch (error) {
      clearTimeout(timer);
      throw error;
    }
    if (!res.body) {
      clearTimeout(timer);
      return res;
    }
    const reader = res.body.getReader();
    let first = true;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (first) {
            first = false;
            clearTimeout(timer);
            const announced = value && ANNOUNCED.exec(new TextDecoder().decode(value));
            if (announced) announcedMs = Number(announced[1]);
          }
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          clearTimeout(timer);
          throw error;
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
