import type { IncomingMessage, ServerResponse } from 'node:http';

// Kept on the request, so the server's one 'close' listener can reach it
// without a listener (and a closure) of its own per request.
const ABORT = Symbol('corbel.abort');
type WithAbort = IncomingMessage & { [ABORT]?: AbortController };

/** The request's abort controller: its signal is what procedures see as `signal`. */
export function requestAbort(req: IncomingMessage): AbortController {
  let abort = (req as WithAbort)[ABORT];
  if (!abort) {
    abort = new AbortController();
    (req as WithAbort)[ABORT] = abort;
  }
  return abort;
}

/**
 * Called once when the response closes: the signal fires only when the client
 * went away before the answer was complete (aborting after every finished
 * request would cost a DOMException per call).
 */
export function abortIfUnfinished(req: IncomingMessage, res: ServerResponse): void {
  if (!res.writableFinished) (req as WithAbort)[ABORT]?.abort();
}
