import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { readBody, utf8Text } from './body.js';

function request(headers: Record<string, string> = {}) {
  const stream = new PassThrough();
  const req = Object.assign(stream, { headers, socket: { destroy: () => stream.destroy() } });
  return req as unknown as IncomingMessage & PassThrough;
}

describe('readBody', () => {
  it('reads a body sent in pieces as UTF-8 text', async () => {
    const req = request();
    const text = readBody(req, 100, 1000);
    req.write('{"a":');
    req.end('"é"}');
    expect(await text).toBe('{"a":"é"}');
  });

  it('refuses a declared size over the limit at once with PAYLOAD_TOO_LARGE', async () => {
    const req = request({ 'content-length': '1000' });
    await expect(readBody(req, 10)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses a body that grows over the limit', async () => {
    const req = request();
    const text = readBody(req, 4);
    req.write('12345');
    await expect(text).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses invalid UTF-8', async () => {
    const req = request();
    const text = readBody(req, 100);
    req.end(Buffer.from([0xff, 0xfe]));
    await expect(text).rejects.toBeInstanceOf(TRPCError);
  });

  it('times out a body that does not finish (TIMEOUT), and not one that does', async () => {
    const slow = request();
    const late = readBody(slow, 100, 50);
    slow.write('{');
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
    const quick = request();
    const done = readBody(quick, 100, 50);
    quick.end('{}');
    expect(await done).toBe('{}');
    // Past the deadline, the finished read stays finished.
    await new Promise((r) => setTimeout(r, 120));
    expect(await done).toBe('{}');
  });
});

describe('utf8Text', () => {
  // What a fatal TextDecoder answers, for every kind of body.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const asDecoder = (bytes: Buffer) => {
    try {
      return decoder.decode(bytes);
    } catch {
      return undefined;
    }
  };

  it.each([
    ['ASCII', Buffer.from('{"json":{"a":1}}')],
    ['empty', Buffer.alloc(0)],
    ['two-, three- and four-byte characters', Buffer.from('{"s":"é€😀"}')],
    ['a byte-order mark, stripped', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])],
    ['a byte-order mark alone', Buffer.from([0xef, 0xbb, 0xbf])],
    ['a second byte-order mark, kept', Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf])],
    ['an overlong slash', Buffer.from([0x7b, 0xc0, 0xaf, 0x7d])],
    ['a lone surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['past U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
    ['a truncated sequence', Buffer.from([0x7b, 0xe2, 0x82])],
    ['a stray continuation byte', Buffer.from([0x80])],
    ['latin-1 bytes', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
  ])('answers as a fatal TextDecoder for %s', (_name, bytes) => {
    expect(utf8Text(bytes)).toBe(asDecoder(bytes));
  });
});
