import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CorbelError } from '@corbel/core';
import {
  isBatchIterable,
  isReadyIterable,
  pullBatch,
  pullReady,
  type ReadyIterable,
} from '@corbel/core/internal';
import type { TRPCError } from '@trpc/server';
import { requestIdOf } from '../request-id.js';
import { abortStream, holdStreamAbort, type StreamAbort } from './request-abort.js';
import { PING_FRAME, RETURN_FRAME, SseFrameEncoder } from './sse-frame-encoder.js';
import { getTRPCErrorFromUnknown, type RouterBridge } from './trpc-bridge.js';

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
  vary: 'trpc-accept, accept',
};
/** Events handed over per pull: big enough to coalesce a burst into one write. */
const BATCH = 256;

/** Why a stream ended, for logs and metrics. */
export type StreamEndReason = 'complete' | 'error' | 'client-gone' | 'stalled' | 'max-duration';

export interface StreamInfo {
  path: string;
  req: IncomingMessage;
  /** When the stream opened (`Date.now()`). */
  readonly openedAt?: number;
  /** Events written so far. */
  readonly events?: number;
}

/** Builds a stream's (or long poll's) error frame and reports the error, from what it keeps of its call. */
export type StreamErrorShape = (
  error: TRPCError,
  call: { req: IncomingMessage; path: string; input: unknown; ctx: unknown },
) => unknown;

// Where the server's one 'close' listener of a request finds its stream: a
// listener (and closure) of the stream's own would cost memory per subscriber.
const STREAM = Symbol('corbel.stream');
type WithStream = IncomingMessage & { [STREAM]?: EventStream | undefined };

/** Ends the request's event stream, if it has one, as the client's going away (the response closed). */
export function closeStreamOf(req: IncomingMessage): void {
  (req as WithStream)[STREAM]?.clientGone();
}

export interface StreamHooks {
  onOpen?(info: StreamInfo): void;
  onClose?(info: StreamInfo, reason: StreamEndReason, error?: TRPCError): void;
  onFrames?(info: StreamInfo, events: number): void;
}

/**
 * Every open event stream of one server: one timer pings them all, and drain
 * ends them all with a retryable DRAINING error so their clients reconnect.
 */
export class StreamRegistry {
  private readonly open = new Set<EventStream>();
  private pingTimer: NodeJS.Timeout | undefined;
  /** Serializes events once for every stream (and long poll) of the router. */
  readonly encoder: SseFrameEncoder;

  constructor(
    readonly bridge: RouterBridge,
    readonly retryMs: number,
    readonly stallTimeoutMs: number,
    readonly hooks: StreamHooks = {},
  ) {
    this.encoder = SseFrameEncoder.of(bridge);
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Half ping intervals since the timer started. A stream remembers the tick
   * of its last write and is pinged only after two ticks of silence, so no
   * stream stays silent for more than the ping interval, and a busy stream is
   * never pinged: like tRPC's own producer, and a ping round over thousands of
   * active sockets no longer stalls their events behind it.
   */
  tick = 0;

  add(stream: EventStream): void {
    this.open.add(stream);
    const maxMs = this.bridge.sse.maxDurationMs;
    if (maxMs && !this.expiryTimer) {
      // One timer ends every stream past its maximum duration, up to a
      // twentieth of it late (at most a second): a timer per stream was
      // memory per subscriber.
      this.expiryTimer = setInterval(() => this.expire(maxMs), Math.max(10, Math.min(1000, maxMs / 20)));
      this.expiryTimer.unref();
    }
    const pingMs = this.bridge.sse.pingMs;
    if (!this.pingTimer && pingMs > 0) {
      this.pingTimer = setInterval(
        () => {
          const tick = ++this.tick;
          for (const s of this.open) s.ping(tick);
        },
        Math.max(1, pingMs / 2),
      );
      this.pingTimer.unref();
    }
  }

  delete(stream: EventStream): void {
    this.open.delete(stream);
    if (this.open.size === 0) {
      clearInterval(this.pingTimer);
      this.pingTimer = undefined;
      clearInterval(this.expiryTimer);
      this.expiryTimer = undefined;
    }
  }

  private expiryTimer: NodeJS.Timeout | undefined;

  /** Ends the streams open for `maxMs` or longer (the oldest come first: the set keeps opening order). */
  private expire(maxMs: number): void {
    const now = Date.now();
    for (const stream of this.open) {
      if (now - stream.openedAt < maxMs) break;
      // The client reconnects transparently with its Last-Event-ID.
      stream.finish('max-duration');
    }
  }

  /** Ends every stream with DRAINING; resolves when all are closed. */
  async drain(): Promise<void> {
    const all = [...this.open];
    await Promise.all(all.map((s) => s.drain()));
  }
}

/**
 * One SSE response, written straight to the node socket: no web streams, one
 * write per batch of ready events, backpressure by awaiting `drain`.
 * The frames are exactly those of tRPC's own SSE producer, so stock
 * `httpSubscriptionLink` clients read them unchanged.
 */
export class EventStream implements StreamInfo {
  private ended = false;
  private iterator: AsyncIterator<unknown> | undefined;
  private source: AsyncIterable<unknown> | undefined;
  private draining: Promise<void> | undefined;
  /** When the stream opened (`Date.now()`); 0 until `run`. */
  openedAt = 0;
  /** Events written so far. */
  events = 0;
  // Created only when someone waits for the end (drain): most streams never need it.
  private finished: (() => void) | undefined;
  private done: Promise<void> | undefined;

  /**
   * The stream is its own StreamInfo for the hooks (path, req, openedAt,
   * events), and keeps its call's input and context for the error frame:
   * one object per subscriber instead of several.
   */
  constructor(
    private readonly registry: StreamRegistry,
    private readonly res: ServerResponse,
    readonly path: string,
    readonly req: IncomingMessage,
    abort: AbortController,
    private readonly errorShape: StreamErrorShape,
    readonly input: unknown,
    readonly ctx: unknown,
  ) {
    this.abort = abort;
  }

  // The procedure's signal, held strongly or weakly once the source is known (see holdStreamAbort).
  private abort: StreamAbort;

  /**
   * Sends headers and the `connected` frame, then pumps events in the
   * background until the end. It returns once the stream is open, so the
   * request handler that opened it does not stay suspended (with everything
   * it holds) for the life of the stream: that is memory per subscriber.
   */
  run(source: AsyncIterable<unknown>): void {
    const { res, registry } = this;
    this.source = source;
    this.abort = holdStreamAbort(this.req, this.abort as AbortController, source);
    res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': requestIdOf(this.req) });
    res.write(
      registry.encoder.connectedFrame(registry.retryMs, registry.bridge.sse.reconnectAfterInactivityMs),
    );
    flattenHead(res);
    // Headers are out: event chunks go straight to the socket (in order with
    // anything `res` writes, which goes to the same socket). Without chunked
    // encoding (an HTTP/1.0 client) every write goes through `res`.
    const socket = res.socket;
    if ((res as { chunkedEncoding?: boolean }).chunkedEncoding === true && socket && !socket.destroyed) {
      this.socket = socket;
    }
    this.openedAt = Date.now();
    registry.add(this);
    this.wroteAt = registry.tick;
    registry.hooks.onOpen?.(this);
    (this.req as WithStream)[STREAM] = this;
    if (isReadyIterable(source)) {
      this.ready = source;
      this.pumpReady();
    } else {
      void this.pump(source);
    }
  }

  private ready: ReadyIterable<unknown> | undefined;
  private socket: Socket | undefined;
  /** The registry's ping tick at the last write (the `connected` frame counts). */
  private wroteAt = 0;

  /**
   * The hub's pump, with no promise and no suspended function: write what is
   * ready, then leave `pumpReady` as the wake-up call (for the next events or
   * for a drained socket).
   */
  private readonly pumpReady = (): void => {
    const { res, registry } = this;
    const source = this.ready!;
    try {
      while (!this.ended) {
        const batch = source[pullReady](BATCH, this.pumpReady);
        if (batch === undefined) return;
        if (batch === null) {
          res.write(RETURN_FRAME);
          this.finish('complete');
          return;
        }
        if (batch.length === 0) continue;
        this.wrote(batch.length);
        if (!this.writeFrames(registry.encoder.framesOf(batch))) {
          this.whenDrained(this.pumpReady);
          return;
        }
      }
    } catch (cause) {
      if (!this.ended) this.fail(getTRPCErrorFromUnknown(cause));
    }
  };

  private async pump(source: AsyncIterable<unknown>): Promise<void> {
    const { res, registry } = this;
    try {
      if (isBatchIterable(source)) {
        for (;;) {
          const batch = await source[pullBatch](BATCH);
          if (this.ended) return;
          if (batch === null) break;
          if (batch.length === 0) continue;
          const frames = registry.encoder.framesOf(batch);
          this.wrote(batch.length);
          if (!this.writeFrames(frames)) await this.drained();
          if (this.ended) return;
        }
      } else {
        this.iterator = source[Symbol.asyncIterator]();
        for (;;) {
          const next = await this.iterator.next();
          if (this.ended) return;
          if (next.done) break;
          this.wrote(1);
          if (!this.writeFrames(registry.encoder.frameOf(next.value))) await this.drained();
          if (this.ended) return;
        }
      }
      if (!this.ended) {
        res.write(RETURN_FRAME);
        this.finish('complete');
      }
    } catch (cause) {
      if (this.ended) return;
      this.fail(getTRPCErrorFromUnknown(cause));
    }
  }

  /**
   * Waits for the socket to take more. A client that stops reading for longer
   * than the stall timeout is disconnected: its hub queue is already bounded,
   * and this frees the socket too.
   */
  private drained(): Promise<void> {
    return new Promise((resolve) => this.whenDrained(resolve));
  }

  /** Writes event frames; false when the socket wants a drain first. */
  private writeFrames(frames: Buffer): boolean {
    this.wroteAt = this.registry.tick;
    const socket = this.socket;
    if (socket) return socket.write(this.registry.encoder.chunkOf(frames));
    return this.res.write(frames);
  }

  private whenDrained(then: () => void): void {
    const timer = setTimeout(() => {
      done();
      this.finish('stalled');
      this.res.destroy();
    }, this.registry.stallTimeoutMs);
    const done = () => {
      clearTimeout(timer);
      drainable.off('drain', done);
      this.res.off('close', done);
      then();
    };
    const drainable = this.socket ?? this.res;
    drainable.on('drain', done);
    this.res.on('close', done);
  }

  private wrote(events: number): void {
    this.events += events;
    this.registry.hooks.onFrames?.(this, events);
  }

  /** The response closed (see `closeStreamOf`). */
  clientGone(): void {
    this.finish('client-gone');
  }

  /** Writes a serialized-error frame and ends the stream. */
  fail(error: TRPCError): void {
    if (this.ended) return;
    const shape = this.errorShape(error, this);
    this.res.write(this.registry.encoder.errorFrame(shape));
    this.finish('error', error);
  }

  /** Writes a ping when the stream has been silent for two ticks (and nothing is waiting to go out). */
  ping(tick: number): void {
    if (this.ended || tick - this.wroteAt < 2) return;
    if (this.res.writableLength === 0 && (this.socket?.writableLength ?? 0) === 0) {
      this.res.write(PING_FRAME);
      this.wroteAt = tick;
    }
  }

  /** Ends with the retryable DRAINING error; resolves once the stream is closed. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      this.done ??= this.ended
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.finished = resolve;
          });
      this.fail(new CorbelError('DRAINING', 'the server is shutting down; reconnect to resume'));
      await this.done;
    })();
    return this.draining;
  }

  /** Ends the stream (once), stopping its source; `reason` goes to the hooks. */
  finish(reason: StreamEndReason, error?: TRPCError): void {
    if (this.ended) return;
    this.ended = true;
    (this.req as WithStream)[STREAM] = undefined;
    this.registry.delete(this);
    abortStream(this.abort);
    // Stop the source so hub queues, listeners and timers are released now.
    const source = this.source as any;
    if (this.iterator?.return) this.iterator.return().catch(() => {});
    else if (source && typeof source[Symbol.asyncIterator] === 'function' && isBatchIterable(source)) {
      source[Symbol.asyncIterator]()
        .return?.()
        .catch(() => {});
    }
    if (!this.res.writableEnded) this.res.end();
    this.registry.hooks.onClose?.(this, reason, error);
    this.finished?.();
  }
}

/**
 * Node keeps a response's head as the string it was concatenated from, a
 * rope of some thirty pieces, for the response's whole life; an event stream
 * lives long, so it keeps a flat copy (same text) instead.
 */
function flattenHead(res: ServerResponse): void {
  const head = (res as { _header?: unknown })._header;
  if (typeof head === 'string')
    (res as { _header?: string })._header = Buffer.from(head, 'latin1').toString('latin1');
}
