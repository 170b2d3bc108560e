import type { Server } from 'node:http';
import type { StreamRegistry } from './serve/event-stream.js';

export interface DrainOptions {
  httpServer: Server;
  streams: StreamRegistry;
  /** Requests whose response has not closed yet. */
  inFlight(): number;
  /** How long in-flight commands may take to finish (default 5 s). */
  drainTimeoutMs?: number | undefined;
}

/**
 * The graceful stop: from the first `close()` the server is draining (new
 * requests get 503 DRAINING), stops accepting connections, ends every event
 * stream with the retryable DRAINING error, lets in-flight commands finish
 * within the timeout, then closes every socket. `close()` is idempotent.
 *
 * @example
 * const drain = createDrain({ httpServer, streams, inFlight: () => inFlight });
 * if (drain.draining) refuse(res);
 */
export function createDrain(opts: DrainOptions) {
  const { httpServer, streams } = opts;
  let draining = false;
  let closing: Promise<void> | undefined;
  return {
    get draining(): boolean {
      return draining;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => {
          if (!httpServer.listening) return resolve();
          httpServer.close(() => resolve());
        });
        await streams.drain();
        httpServer.closeIdleConnections();
        const deadline = Date.now() + (opts.drainTimeoutMs ?? 5000);
        while (opts.inFlight() > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          httpServer.closeIdleConnections();
        }
        // Every connection Node holds, whatever state it is in (Node tracks them all from accept).
        httpServer.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
