import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HubSubscription } from '@corbel/core/internal';

// Kept on the request, so the server's one 'close' listener can reach it
// without a listener (and a closure) of its own per request.
const ABORT = Symbol('corbel.abort');
type WithAbort = IncomingMessage & { [ABORT]?: AbortController | undefined };
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

// The controller of a signal the server holds only weakly (see `holdStreamAbort`).
const CONTROLLER = Symbol('corbel.controller');
type WithController = AbortSignal & { [CONTROLLER]?: AbortController };

/** What an open stream keeps to abort its procedure's signal when it ends. */
export type StreamAbort = AbortController | WeakRef<AbortSignal>;

/**
 * What an open event stream keeps of its request's controller, once its
 * procedure returned `source`. An AbortSignal costs some 0.7 KB, the largest
 * thing an idle subscriber held; it cannot be made lazily (tRPC's middleware
 * chain copies the call options, `signal` included, at every step), but it
 * need not be kept alive by the server when nothing but `source`, a hub
 * subscription, listens to it: the stream ends `source` itself. The signal is then held weakly, with
 * its controller hung on it: whoever kept the signal (a procedure that reads
 * `signal.aborted` later) keeps the controller too, and the end of the
 * stream still aborts it; when nobody kept it, nothing can observe it, and
 * both are collected. Any other listener (a user's cleanup) keeps today's
 * strong hold, so it fires when the client leaves.
 *
 * @example
 * const hold = holdStreamAbort(req, requestAbort(req), source);
 * // ... when the stream ends:
 * abortStream(hold);
 */
export function holdStreamAbort(req: IncomingMessage, abort: AbortController, source: unknown): StreamAbort {
  const signal = abort.signal as WithController;
  if (signal.aborted) return abort;
  const listeners = getEventListeners(signal, 'abort');
  // Only a hub subscription is known to need nothing but the stream's own end
  // (any other listener may clean up on abort alone).
  if (!(source instanceof HubSubscription) || listeners.length !== 1 || listeners[0] !== (source as unknown))
    return abort;
  signal[CONTROLLER] = abort;
  if ((req as WithAbort)[ABORT] === abort) (req as WithAbort)[ABORT] = undefined;
  return new WeakRef(signal);
}

/** Aborts a stream's procedure signal (see `holdStreamAbort`), if anyone can still see it. */
export function abortStream(hold: StreamAbort): void {
  if (hold instanceof AbortController) hold.abort();
  else (hold.deref() as WithController | undefined)?.[CONTROLLER]?.abort();
}

/**
 * The `signal` a command's procedures see: it aborts when the client goes
 * away before the answer is complete. Building an AbortController costs more
 * than the rest of a command's admission (Node's createAbortSignal), so the
 * commands of one keep-alive connection share one, one after the other:
 * after a finished command it is reused only when nothing watches it
 * (see `abortIfUnfinished`), and it is dropped once aborted. (A fresh
 * controller per command measured 6–8 % more server CPU per command.)
 *
 * @example
 * bridge.call({ path, type: 'mutation', input, signal: commandSignal(req), batchIndex: 0 }, ctx);
 */
export function commandSignal(req: IncomingMessage): AbortSignal {
  const own = (req as WithAbort)[ABORT];
  if (own) return own.signal;
  const socket = req.socket as WithShared | null;
  let abort = socket?.[SHARED];
  // A shared controller leaves the socket before it is aborted (abortIfUnfinished).
  if (!abort) {
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
 * controller that something still watches (a listener a procedure left, a
 * signal it derived) leaves the connection, so the next command's end cannot
 * reach them.
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
  if (shared && !reusable(abort.signal)) socket![SHARED] = undefined;
}

// The symbols Node hangs on a signal once `AbortSignal.any` derives a signal
// from it (its set of dependants), found once by trying it: reading them is a
// property lookup per command, where listing a signal's own symbols allocated
// an array and cost some 0.5 µs of every command.
const DERIVED_MARKS: readonly symbol[] = (() => {
  const probe = new AbortController().signal;
  const untouched = new Set(Object.getOwnPropertySymbols(probe));
  AbortSignal.any([probe]);
  return Object.getOwnPropertySymbols(probe).filter((mark) => !untouched.has(mark));
})();

/**
 * Whether a finished command's signal can serve the connection's next
 * command: nothing may still be watching it, neither a listener nor a
 * signal derived from it, since the next command's abandonment aborts it.
 * Derived signals have no listener; Node keeps them on the source signal
 * instead, under the marks found above. A runtime where deriving leaves no
 * mark gets a fresh controller per command: slower, never wrong.
 */
function reusable(signal: AbortSignal): boolean {
  if (DERIVED_MARKS.length === 0 || getEventListeners(signal, 'abort').length !== 0) return false;
  for (const mark of DERIVED_MARKS)
    if ((signal as unknown as Record<symbol, unknown>)[mark] !== undefined) return false;
  return true;
}
