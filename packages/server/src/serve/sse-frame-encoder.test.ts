import { initCorbel } from '@corbel/core';
import { tracked } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { PING_FRAME, RETURN_FRAME, SseFrameEncoder } from './sse-frame-encoder.js';
import { bridgeRouter } from './trpc-bridge.js';

const t = initCorbel();
const bridge = bridgeRouter(t.router({ ping: t.procedure.query(() => 'pong') }));

/** An encoder over the router's real transformer (superjson) that counts its serializations. */
function counted() {
  let calls = 0;
  const encoder = new SseFrameEncoder({
    serializeOutput: (value) => {
      calls++;
      return bridge.serializeOutput(value);
    },
  });
  return { encoder, calls: () => calls };
}

const text = (b: Buffer) => b.toString('utf8');

describe('SseFrameEncoder', () => {
  it('serializes a shared event once for a thousand subscribers, for streams and long polls alike', () => {
    const { encoder, calls } = counted();
    const first = tracked('e1', { city: 'Oslo', at: new Date(0) });
    const second = tracked('e2', { city: 'Bergen', at: new Date(1) });
    const frames = new Set<Buffer>();
    // Subscribers take the events in turn, interleaved as a fan-out does.
    for (let i = 0; i < 1000; i++) {
      frames.add(encoder.frameOf(first));
      frames.add(encoder.frameOf(second));
      encoder.entryOf(i % 2 ? first : second);
    }
    expect(calls()).toBe(2);
    expect(frames.size).toBe(2);
    expect(text(encoder.frameOf(first))).toBe(
      'id: e1\ndata: {"json":{"city":"Oslo","at":"1970-01-01T00:00:00.000Z"},"meta":{"values":{"at":["Date"]},"v":1}}\n\n',
    );
    expect(JSON.parse(encoder.entryOf(first))).toEqual({
      id: 'e1',
      data: {
        json: { city: 'Oslo', at: '1970-01-01T00:00:00.000Z' },
        meta: { values: { at: ['Date'] }, v: 1 },
      },
    });
  });

  it('builds the long-poll entry from the serialization the stream already made', () => {
    const { encoder, calls } = counted();
    const event = tracked('7', 'x');
    encoder.frameOf(event);
    expect(encoder.entryOf(event)).toBe('{"id":"7","data":{"json":"x"}}');
    expect(calls()).toBe(1);
  });

  it('serializes untracked values on every call, without an id', () => {
    const { encoder, calls } = counted();
    const value = { n: 1 };
    expect(text(encoder.frameOf(value))).toBe('data: {"json":{"n":1}}\n\n');
    expect(encoder.entryOf(value)).toBe('{"data":{"json":{"n":1}}}');
    encoder.frameOf(value);
    expect(calls()).toBe(3);
  });

  it('shares one buffer between the subscribers that write the same batch', () => {
    const { encoder, calls } = counted();
    const events = [tracked('1', 'a'), tracked('2', 'b'), tracked('3', 'c')];
    const a = encoder.framesOf([...events]);
    const b = encoder.framesOf([...events]);
    expect(b).toBe(a);
    expect(text(a)).toBe(
      'id: 1\ndata: {"json":"a"}\n\nid: 2\ndata: {"json":"b"}\n\nid: 3\ndata: {"json":"c"}\n\n',
    );
    // Another batch of the same events is concatenated again, but not serialized again.
    const c = encoder.framesOf(events.slice(1));
    expect(text(c)).toBe('id: 2\ndata: {"json":"b"}\n\nid: 3\ndata: {"json":"c"}\n\n');
    expect(calls()).toBe(3);
    // A batch of one is the event's own frame.
    expect(encoder.framesOf([events[0]])).toBe(encoder.frameOf(events[0]));
  });

  it('frames a chunk of a chunked HTTP/1.1 body byte for byte, once per frames buffer', () => {
    const { encoder } = counted();
    const frames = encoder.frameOf(tracked('é', 'ü'));
    const chunk = encoder.chunkOf(frames);
    // The length is in bytes (hex), not characters.
    expect(frames.length).toBe(28);
    expect(chunk.toString('utf8')).toBe('1c\r\nid: é\ndata: {"json":"ü"}\n\n\r\n');
    expect(encoder.chunkOf(frames)).toBe(chunk);
    const other = encoder.chunkOf(Buffer.from('data: 1\n\n'));
    expect(other.toString('latin1')).toBe('9\r\ndata: 1\n\n\r\n');
    // Not only the last one is remembered.
    expect(encoder.chunkOf(frames)).toBe(chunk);
  });

  it('writes the connected, error, ping and return frames of tRPC’s SSE protocol', () => {
    const { encoder } = counted();
    expect(encoder.connectedFrame(1000, undefined)).toBe('retry: 1000\nevent: connected\ndata: {}\n\n');
    expect(encoder.connectedFrame(500, 3000)).toBe(
      'retry: 500\nevent: connected\ndata: {"reconnectAfterInactivityMs":3000}\n\n',
    );
    expect(encoder.errorFrame({ message: 'gone', code: -32600 })).toBe(
      'event: serialized-error\ndata: {"json":{"message":"gone","code":-32600}}\n\n',
    );
    expect(text(PING_FRAME)).toBe('event: ping\ndata: \n\n');
    expect(text(RETURN_FRAME)).toBe('event: return\ndata: \n\n');
  });

  it('is one per router bridge', () => {
    expect(SseFrameEncoder.of(bridge)).toBe(SseFrameEncoder.of(bridge));
    expect(SseFrameEncoder.of(bridgeRouter(t.router({})))).not.toBe(SseFrameEncoder.of(bridge));
  });
});
