/**
 * Issue 16: a request that reached a draining server was answered
 * `503 {"error":{"message":"server is shutting down"}}`, a bare body with no
 * Corbel code, unlike every other refusal. Now it is tRPC's error shape with
 * `corbelCode: "DRAINING"` and `retryable: true`, like the error frame the
 * same drain writes to open streams.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startSecurityService, until } from '../security/fixture.js';

const slowQuery = `/rpc/slow?input=${encodeURIComponent(JSON.stringify({ json: { ms: 800 } }))}`;

describe('a draining server refuses with the DRAINING code', () => {
  it('answers a request that arrives during the drain 503 DRAINING, retryable, with Retry-After', async () => {
    let slowStarted = false;
    await using svc = await startSecurityService({
      createContext: ({ identity, info }) => {
        if (info.paths.includes('slow')) slowStarted = true;
        return { who: identity?.id ?? null };
      },
    });
    const { hostname, port } = new URL(svc.url);
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // A command in flight keeps the drain open, and keeps this connection busy (not idle).
      socket.write(`GET ${slowQuery} HTTP/1.1\r\nHost: x\r\n\r\n`);
      // Until the server has the command, not a fixed 150 ms: a stall in this
      // shared process runs a timer before the socket holding the request is
      // read, and close() would find the connection idle and end it.
      await until(() => slowStarted, { what: 'the slow command to start', timeoutMs: 5000 });
      const closing = svc.server.close();
      // The next request on the same connection arrives while the server drains.
      socket.write('GET /rpc/whoami HTTP/1.1\r\nHost: x\r\n\r\n');
      await closing;
      await ended;
    } finally {
      socket.destroy();
    }
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200/);
    const refusal = answers[1] ?? '';
    expect(refusal).toMatch(/^HTTP\/1\.1 503/);
    expect(refusal.toLowerCase()).toContain('retry-after: 1');
    const body = JSON.parse(refusal.slice(refusal.indexOf('\r\n\r\n') + 4));
    expect(body.error.json.data).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      corbelCode: 'DRAINING',
      retryable: true,
    });
  });
});
