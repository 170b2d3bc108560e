import type { ServerResponse } from 'node:http';
import { requestIdOf } from '../request-id.js';

const NO_HEADERS: Record<string, string | number> = {};

/** Writes a complete JSON response (unless the socket is already gone). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = NO_HEADERS,
): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const vary = res.getHeader('vary');
  const head: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // Keep a Vary set earlier (CORS adds Origin).
    vary: vary === undefined ? 'trpc-accept, accept' : `${vary}, trpc-accept, accept`,
    'x-request-id': requestIdOf(res.req),
  };
  for (const name in headers) head[name] = headers[name]!;
  res.writeHead(status, head);
  res.end(text);
}
