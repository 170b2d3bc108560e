import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// Kept on the request, so the server's one 'close' listener can reach it
// without a listener (and a closure) of its own per request.
const ABORT = Symbol('corbel.abort');
type WithAbort = IncomingMessage & { [ABORT]?: AbortController };
// A keep-alive connection's reusable controller for its commands.
const SHARED = Symbol('corbel.commandAbort');
type WithShared = Socket & { [SHARED]?: AbortController | undefined };

/** The request's own abort controller (event streams and long polls: they abort it themselves when they end). */
export function requestAbort(req: IncomingMessage): AbortController {
  let abort = (req as WithAbort)[ABORT];
  if (!abort) {
    abort = new AbortController();
    (req as WithAbort)[ABORT] = abort;
  }
  return abort;
}

/**
 * The `signal` a command's procedures see: it aborts when the client goes
 * away before the answer is complete. Building an AbortController costs more
 * than the rest of a command's admission (Node's createAbortSignal), so the
 * commands of one keep-alive connection share one, one after the other:
 * after a finished command it is reused only when nobody listens to it
 * (see `abortIfUnfinished`), and it is dropped once aborted.
 *
 * @example
 * bridge.call({ path, type: 'mutation', input, signal: commandSignal(req), batchIndex: 0 }, ctx);
 */
export function commandSignal(req: IncomingMessage): AbortSignal {
  const own = (req as WithAbort)[ABORT];
  if (own) return own.signal;
  const socket = req.socket as WithShared | null;
  let abort = socket?.[SHARED];
  if (!abort || abort.signal.aborted) {
    abort = new AbortController();
    // The client is already gone (it left during authentication): aborted from the start.
    if (!socket || socket.destroyed) abort.abort();
    else socket[SHARED] = abort;
  }
  (req as WithAbort)[ABORT] = abort;
  return abort.signal;
}

/**
 * Called once when the response closes: the signal fires only when the client
 * went away before the answer was complete (aborting after every finished
 * request would cost a DOMException per call). A finished command's shared
 * controller that still has listeners (a procedure that kept watching its
 * signal) leaves the connection, so the next command's end cannot reach them.
 */
export function abortIfUnfinished(req: IncomingMessage, res: ServerResponse): void {
  const abort = (req as WithAbort)[ABORT];
  if (!abort) return;
  const socket = req.socket as WithShared | null;
  const shared = socket?.[SHARED] === abort;
  if (!res.writableFinished) {
    if (shared) socket![SHARED] = undefined;
    abort.abort();
    return;
  }
  if (shared) {
    const signal = abort.signal;
    if (getEventListeners(signal, 'abort').length > 0) socket![SHARED] = undefined;
  }
}
