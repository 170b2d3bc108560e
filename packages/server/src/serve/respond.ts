import type { ServerResponse } from 'node:http';

/** Writes a complete JSON response (unless the socket is already gone). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // Keep a Vary set earlier (CORS adds Origin).
    vary: res.hasHeader('vary') ? `${res.getHeader('vary')}, trpc-accept, accept` : 'trpc-accept, accept',
    ...headers,
  });
  res.end(text);
}
