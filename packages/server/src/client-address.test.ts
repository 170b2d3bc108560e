import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressReader } from './client-address.js';

const req = (peer: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('clientAddressReader', () => {
  it('is the socket peer without trusted proxies, whatever the headers say', () => {
    const of = clientAddressReader();
    expect(of(req('127.0.0.1', { 'x-forwarded-for': '1.2.3.4' }))).toBe('127.0.0.1');
    expect(of(req('::ffff:10.0.0.1', { forwarded: 'for=1.2.3.4' }))).toBe('10.0.0.1');
  });

  it('reads X-Forwarded-For only from a trusted peer, taking the right-most untrusted hop', () => {
    const of = clientAddressReader(['127.0.0.1', '10.0.0.0/8']);
    // A client-forged left part is ignored: the proxy appended what it saw.
    expect(of(req('127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.5' }))).toBe('203.0.113.5');
    // A chain of trusted proxies is walked through.
    expect(of(req('10.1.1.1', { 'x-forwarded-for': '203.0.113.5, 10.2.2.2, 10.3.3.3' }))).toBe('203.0.113.5');
    // Only trusted proxies in the chain: the left-most hop.
    expect(of(req('10.1.1.1', { 'x-forwarded-for': '10.9.9.9' }))).toBe('10.9.9.9');
    // An untrusted peer's header is ignored.
    expect(of(req('198.51.100.1', { 'x-forwarded-for': '203.0.113.5' }))).toBe('198.51.100.1');
    expect(of(req('127.0.0.1'))).toBe('127.0.0.1');
  });

  it('reads Forwarded (RFC 7239) first, with quoted IPv6 and ports', () => {
    const of = clientAddressReader(['127.0.0.1', '::1']);
    expect(
      of(
        req('::1', {
          forwarded: 'for=6.6.6.6;proto=http, for="[2001:db8:cafe::17]:4711";by=x',
          'x-forwarded-for': '1.1.1.1',
        }),
      ),
    ).toBe('2001:db8:cafe::17');
    expect(of(req('127.0.0.1', { forwarded: 'for=192.0.2.60:8080' }))).toBe('192.0.2.60');
    expect(of(req('127.0.0.1', { forwarded: 'for=unknown' }))).toBe('unknown');
  });

  it('refuses a trust list entry that is not an address or CIDR', () => {
    expect(() => clientAddressReader(['localhost'])).toThrow(RangeError);
    expect(() => clientAddressReader(['10.0.0.0/33'])).toThrow(RangeError);
    expect(() => clientAddressReader(['fd00::/8'])).not.toThrow();
  });
});
