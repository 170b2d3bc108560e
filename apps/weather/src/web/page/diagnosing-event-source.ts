/**
 * The browser's own EventSource, with one addition. When a server refuses a
 * stream (401, 412 HISTORY_GONE, …) it answers with a status and a JSON error
 * before any event; a native EventSource only reports a bare `error` and
 * closes, so the page could not tell "history gone" from "server down".
 *
 * On such a final failure this subclass asks once, with fetch, why: it
 * repeats the request (same URL, same cookies, the last id it saw) and, when
 * the answer is a non-retryable tRPC error, dispatches it as tRPC's own
 * `serialized-error` event so `httpSubscriptionLink` raises a typed
 * TRPCClientError (with `data.corbelCode`). Anything else (network down,
 * retryable errors) is passed on as the original `error` event and the page
 * reconnects with backoff.
 */
export class DiagnosingEventSource extends EventSource {
  #lastSeenId = '';
  #diagnosis: Promise<string | null> | undefined;

  constructor(url: string | URL, init?: EventSourceInit) {
    super(url, init);
    super.addEventListener('message', (event) => {
      if (event.lastEventId) this.#lastSeenId = event.lastEventId;
    });
  }

  override addEventListener(type: string, listener: any, options?: boolean | AddEventListenerOptions): void {
    if (type !== 'error' || listener === null) {
      super.addEventListener(type, listener, options);
      return;
    }
    const forward = (event: Event) =>
      typeof listener === 'function' ? listener.call(this, event) : listener.handleEvent(event);
    super.addEventListener(
      'error',
      (event) => {
        if (this.readyState !== EventSource.CLOSED) return forward(event);
        this.#diagnosis ??= this.#diagnose();
        void this.#diagnosis.then((frame) => {
          if (frame === null) forward(event);
          else this.dispatchEvent(new MessageEvent('serialized-error', { data: frame }));
        });
      },
      options,
    );
  }

  async #diagnose(): Promise<string | null> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (this.#lastSeenId) headers['last-event-id'] = this.#lastSeenId;
      const res = await fetch(this.url, {
        credentials: this.withCredentials ? 'include' : 'same-origin',
        headers,
        signal: controller.signal,
        cache: 'no-store',
      });
      if (!res.headers.get('content-type')?.includes('application/json')) {
        // The stream would open now: the failure was transient.
        await res.body?.cancel();
        return null;
      }
      const body = (await res.json()) as { error?: { data?: { retryable?: boolean } } } | null;
      const error = body?.error;
      if (!error || error.data?.retryable === true) return null;
      return JSON.stringify(error);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }
}
