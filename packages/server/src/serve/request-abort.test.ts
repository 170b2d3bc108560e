import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HubSubscription } from '@corbel/core/internal';
import { describe, expect, it } from 'vitest';
import {
  abortIfUnfinished,
  abortStream,
  commandSignal,
  holdStreamAbort,
  requestAbort,
} from './request-abort.js';

/** A request on `socket` and its response, as far as these functions look at them. */
function exchange(socket: object) {
  const req = { socket } as unknown as IncomingMessage;
  const res = { writableFinished: false } as unknown as ServerResponse & { writableFinished: boolean };
  return { req, res };
}

describe('command signals', () => {
  it('share one controller across the finished commands of a connection', () => {
    const socket = { destroyed: false };
    const a = exchange(socket);
    const first = commandSignal(a.req);
    a.res.writableFinished = true;
    abortIfUnfinished(a.req, a.res);
    const b = exchange(socket);
    expect(commandSignal(b.req)).toBe(first);
    expect(first.aborted).toBe(false);
  });

  it('abort when the client leaves before the answer, and the next command gets a fresh one', () => {
    const socket = { destroyed: false };
    const a = exchange(socket);
    const signal = commandSignal(a.req);
    abortIfUnfinished(a.req, a.res);
    expect(signal.aborted).toBe(true);
    const b = exchange(socket);
    const next = commandSignal(b.req);
    expect(next).not.toBe(signal);
    expect(next.aborted).toBe(false);
  });

  it('are not reused once a finished command left a listener on them', () => {
    const socket = { destroyed: false };
    const a = exchange(socket);
    const signal = commandSignal(a.req);
    let heard = 0;
    signal.addEventListener('abort', () => heard++);
    a.res.writableFinished = true;
    abortIfUnfinished(a.req, a.res);
    const b = exchange(socket);
    expect(commandSignal(b.req)).not.toBe(signal);
    abortIfUnfinished(b.req, b.res);
    expect(heard).toBe(0);
  });

  it('are not reused once a finished command derived a signal from them', () => {
    const socket = { destroyed: false };
    const a = exchange(socket);
    const signal = commandSignal(a.req);
    const derived = AbortSignal.any([signal]);
    a.res.writableFinished = true;
    abortIfUnfinished(a.req, a.res);
    const b = exchange(socket);
    expect(commandSignal(b.req)).not.toBe(signal);
    abortIfUnfinished(b.req, b.res);
    expect(derived.aborted).toBe(false);
  });

  it('start aborted when the connection is already gone', () => {
    const { req } = exchange({ destroyed: true });
    expect(commandSignal(req).aborted).toBe(true);
  });

  it('a stream keeps its own controller, never the connection one', () => {
    const socket = { destroyed: false };
    const a = exchange(socket);
    const own = requestAbort(a.req);
    expect(commandSignal(a.req)).toBe(own.signal);
    a.res.writableFinished = true;
    abortIfUnfinished(a.req, a.res);
    expect(commandSignal(exchange(socket).req)).not.toBe(own.signal);
  });
});

describe('requestAbort', () => {
  it('is one controller per request', () => {
    const { req } = exchange(new EventEmitter());
    expect(requestAbort(req)).toBe(requestAbort(req));
  });
});

describe('stream aborts', () => {
  // A hub subscription: the one source the stream ends itself.
  const source = Object.assign(Object.create(HubSubscription.prototype), { handleEvent() {} });

  it('are held weakly when only the stream source listens, and still abort a signal someone kept', () => {
    const { req } = exchange({ destroyed: false });
    const abort = requestAbort(req);
    abort.signal.addEventListener('abort', source, { once: true });
    const hold = holdStreamAbort(req, abort, source);
    expect(hold).toBeInstanceOf(WeakRef);
    // The request no longer holds it either: a new one would be made.
    expect(requestAbort(req)).not.toBe(abort);
    abortStream(hold);
    expect(abort.signal.aborted).toBe(true);
  });

  it('are held as they are when the only listener is a source of another kind', () => {
    const other = { handleEvent() {} };
    const { req } = exchange({ destroyed: false });
    const abort = requestAbort(req);
    abort.signal.addEventListener('abort', other);
    expect(holdStreamAbort(req, abort, other)).toBe(abort);
  });

  it('are held as they are when anything else listens, or nothing does', () => {
    for (const listeners of [[() => {}], [source, () => {}], []]) {
      const { req } = exchange({ destroyed: false });
      const abort = requestAbort(req);
      for (const l of listeners) abort.signal.addEventListener('abort', l);
      const hold = holdStreamAbort(req, abort, source);
      expect(hold).toBe(abort);
      expect(requestAbort(req)).toBe(abort);
      abortStream(hold);
      expect(abort.signal.aborted).toBe(true);
    }
  });
});
