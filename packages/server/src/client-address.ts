import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The address of the client behind a request. Without trusted proxies it is
 * the socket's peer. With them, and only when the peer is one, it is read
 * from `Forwarded` (RFC 7239) or else `X-Forwarded-For`, taking the
 * right-most hop that is not itself a trusted proxy: everything left of it
 * was written by the client and may be forged.
 */
export type ClientAddressOf = (req: IncomingMessage) => string;

const CACHED = Symbol('corbel.clientAddress');
type Cached = IncomingMessage & { [CACHED]?: string };

/**
 * Builds the client-address reader for a `trustProxy` list of addresses and
 * CIDRs (IPv4 or IPv6), e.g. `['127.0.0.1', '10.0.0.0/8', 'fd00::/8']`.
 * Throws RangeError on an entry that is neither.
 *
 * @example
 * const addressOf = clientAddressReader(['127.0.0.1']);
 * addressOf(req); // "203.0.113.7" for "X-Forwarded-For: 203.0.113.7" from a local proxy
 */
export function clientAddressReader(trustProxy: readonly string[] = []): ClientAddressOf {
  const trusted = trustedList(trustProxy);
  const peerOf = (req: IncomingMessage) => plainAddress(req.socket.remoteAddress ?? '') || 'unknown';
  if (!trusted) return peerOf;
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (req) => {
    const cached = (req as Cached)[CACHED];
    if (cached !== undefined) return cached;
    const peer = peerOf(req);
    let client = peer;
    if (isTrusted(peer)) {
      const hops = forwardedHops(req);
      client = hops[0] ?? peer;
      for (let i = hops.length - 1; i >= 0; i--) {
        if (!isTrusted(hops[i]!)) {
          client = hops[i]!;
          break;
        }
      }
    }
    (req as Cached)[CACHED] = client;
    return client;
  };
}

function trustedList(entries: readonly string[]): BlockList | undefined {
  const list = entries.map((e) => e.trim()).filter(Boolean);
  if (list.length === 0) return undefined;
  const blocks = new BlockList();
  for (const entry of list) {
    const [address = '', bits] = entry.split('/', 2);
    const plain = plainAddress(address);
    const family = isIP(plain);
    if (family === 0) throw new RangeError(`trustProxy: "${entry}" is not an IP address or CIDR`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) {
      blocks.addAddress(plain, type);
      continue;
    }
    const prefix = Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new RangeError(`trustProxy: "${entry}" has a bad prefix length`);
    }
    blocks.addSubnet(plain, prefix, type);
  }
  return blocks;
}

/** The hops a proxy chain reports, left (the original client) to right (the last proxy's peer). */
function forwardedHops(req: IncomingMessage): string[] {
  const forwarded = req.headers.forwarded;
  if (typeof forwarded === 'string' && forwarded.length <= 8192) {
    const hops: string[] = [];
    for (const element of forwarded.split(',')) {
      for (const pair of element.split(';')) {
        const eq = pair.indexOf('=');
        if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') {
          hops.push(
            hopAddress(
              pair
                .slice(eq + 1)
                .trim()
                .replace(/^"|"$/g, ''),
            ),
          );
        }
      }
    }
    if (hops.length) return hops;
  }
  const xff = req.headers['x-forwarded-for'];
  const text = Array.isArray(xff) ? xff.join(',') : xff;
  if (typeof text !== 'string' || text.length > 8192) return [];
  return text
    .split(',')
    .map((h) => hopAddress(h.trim()))
    .filter(Boolean);
}

/** An address from a hop: `[v6]:port`, `v4:port` and `::ffff:v4` made plain; anything else kept short. */
function hopAddress(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return plainAddress(bracketed[1]!);
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  if (v4port) return v4port[1]!;
  const plain = plainAddress(hop);
  // Not an address ("unknown", an obfuscated "_node"): it is still who the proxy saw.
  return isIP(plain) ? plain : plain.slice(0, 64);
}

function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
