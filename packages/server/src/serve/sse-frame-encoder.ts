import { isTrackedEnvelope, type TrackedEnvelope } from '@trpc/server';
import type { RouterBridge } from './trpc-bridge.js';

/** A stream's `ping` frame. */
export const PING_FRAME = Buffer.from('event: ping\ndata: \n\n');
/** The frame that tells a client the procedure ended (no reconnect). */
export const RETURN_FRAME = Buffer.from('event: return\ndata: \n\n');
const CRLF = Buffer.from('\r\n');

/** What the encoder keeps of one shared event: its data serialized once, and what was built from it. */
interface Encoded {
  /** `JSON.stringify(serializeOutput(data))`: the one serialization. */
  readonly json: string;
  /** `id: …\ndata: …\n\n` (built on the first stream write). */
  frame: Buffer | undefined;
  /** `{"id":…,"data":…}` (built on the first long poll or piggyback). */
  entry: string | undefined;
}

// One encoder per router bridge, so the event streams, long polls and
// piggybacks of one server share its caches (the bridge is what they all
// hold); a second server on the same router shares them too, which is right:
// the serialization depends only on the router's transformer.
const encoders = new WeakMap<RouterBridge, SseFrameEncoder>();

/**
 * Serializes events for the wire once per shared event, however many
 * subscribers take it and however they take it: every serialize-once cache
 * of the serving path lives here. A hub delivers one shared `tracked()`
 * envelope object per stored event to every subscriber (core's
 * `envelopeOf`), so the caches are keyed by that object's identity: the
 * event's data is serialized on first use and both its SSE frame and its
 * long-poll entry are built from that one string. Batches and their HTTP/1.1
 * chunks are shared between the streams that write them in the same turn.
 * Values that are not tracked envelopes (a generator's plain values) are
 * serialized on every call: nothing identifies them as shared.
 *
 * @example
 * const encoder = SseFrameEncoder.of(bridge);
 * res.socket?.write(encoder.chunkOf(encoder.framesOf([input])));
 */
export class SseFrameEncoder {
  /** The encoder of a router bridge (created on first use). */
  static of(bridge: RouterBridge): SseFrameEncoder {
    let encoder = encoders.get(bridge);
    if (!encoder) {
      encoder = new SseFrameEncoder(bridge);
      encoders.set(bridge, encoder);
    }
    return encoder;
  }

  private readonly encoded = new WeakMap<object, Encoded>();
  // Every subscriber asks for the same event in turn: remember the last one.
  private lastEnvelope: object | undefined;
  private lastEncoded: Encoded | undefined;
  // The last multi-event write: subscribers woken in the same turn usually
  // take the very same events, so they share one buffer instead of each
  // concatenating their own copy.
  private lastBatch: unknown[] | undefined;
  private lastBatchFrames: Buffer | undefined;
  // Event frames framed as one HTTP/1.1 chunk, shared by every stream that
  // writes the same frames: a delivery is then a single socket write of a
  // ready buffer, with no per-subscriber chunk header, cork or writev.
  private readonly chunks = new WeakMap<Buffer, Buffer>();
  private lastFrames: Buffer | undefined;
  private lastChunk: Buffer | undefined;

  constructor(private readonly bridge: Pick<RouterBridge, 'serializeOutput'>) {}

  /** The serialized data of a tracked envelope, once per envelope. */
  private encode(envelope: TrackedEnvelope<unknown>): Encoded {
    if (envelope === this.lastEnvelope) return this.lastEncoded!;
    let encoded = this.encoded.get(envelope);
    if (!encoded) {
      encoded = {
        json: JSON.stringify(this.bridge.serializeOutput(envelope[1])),
        frame: undefined,
        entry: undefined,
      };
      this.encoded.set(envelope, encoded);
    }
    this.lastEnvelope = envelope;
    this.lastEncoded = encoded;
    return encoded;
  }

  /** The SSE frame of one event: `id: <id>\ndata: <json>\n\n` for a tracked envelope, `data: <json>\n\n` otherwise. */
  frameOf(value: unknown): Buffer {
    if (!isTrackedEnvelope(value)) {
      return Buffer.from(`data: ${JSON.stringify(this.bridge.serializeOutput(value))}\n\n`);
    }
    const encoded = this.encode(value);
    if (encoded.frame === undefined)
      encoded.frame = Buffer.from(`id: ${value[0]}\ndata: ${encoded.json}\n\n`);
    return encoded.frame;
  }

  /** The frames of several events as one buffer (shared with the previous caller when the events are the same). */
  framesOf(batch: unknown[]): Buffer {
    if (batch.length === 1) return this.frameOf(batch[0]);
    const last = this.lastBatch;
    if (last && last.length === batch.length && this.lastBatchFrames) {
      let same = true;
      for (let i = 0; i < batch.length; i++) {
        if (last[i] !== batch[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastBatchFrames;
    }
    const frames = Buffer.concat(batch.map((v) => this.frameOf(v)));
    this.lastBatch = batch;
    this.lastBatchFrames = frames;
    return frames;
  }

  /** `frames` as one chunk of a chunked HTTP/1.1 body: `<hex length>\r\n<frames>\r\n`. */
  chunkOf(frames: Buffer): Buffer {
    if (frames === this.lastFrames) return this.lastChunk!;
    let chunk = this.chunks.get(frames);
    if (!chunk) {
      chunk = Buffer.concat([Buffer.from(`${frames.length.toString(16)}\r\n`, 'latin1'), frames, CRLF]);
      this.chunks.set(frames, chunk);
    }
    this.lastFrames = frames;
    this.lastChunk = chunk;
    return chunk;
  }

  /** One event of a long-poll (or piggyback) answer: `{"id":<id>,"data":<json>}`, or `{"data":<json>}` untracked. */
  entryOf(value: unknown): string {
    if (!isTrackedEnvelope(value)) return `{"data":${JSON.stringify(this.bridge.serializeOutput(value))}}`;
    const encoded = this.encode(value);
    if (encoded.entry === undefined)
      encoded.entry = `{"id":${JSON.stringify(value[0])},"data":${encoded.json}}`;
    return encoded.entry;
  }

  /** The first frame of a stream: the reconnect delay, then `connected` with the client's settings. */
  connectedFrame(retryMs: number, reconnectAfterInactivityMs: number | undefined): string {
    const client = reconnectAfterInactivityMs ? { reconnectAfterInactivityMs } : {};
    return `retry: ${retryMs}\nevent: connected\ndata: ${JSON.stringify(client)}\n\n`;
  }

  /** The frame that ends a stream with an error: the router's error shape, serialized for the wire. */
  errorFrame(shape: unknown): string {
    return `event: serialized-error\ndata: ${JSON.stringify(this.bridge.serializeOutput(shape))}\n\n`;
  }
}
