/**
 * Issue 15, finding 3: admission happened before the body was read, so 256
 * POSTs that sent their head and never their body took every in-flight slot
 * of their address (the library default is 256) for ~31 s, and that
 * address's normal commands got 429. Now a command takes its slot once its
 * body is in; slow bodies are bounded by their own timeout (408) and a cap
 * on unfinished bodies per address (429).
 */
import { connect, type Socket } from 'node:net';
import { rawRequest } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { startSecurityService } from '../security/fixture.js';
import { openUnfinishedBodies, tally, timedRequest } from '../security/round-two-attacks.js';

const send = (url: string) =>
  timedRequest(`${url}/rpc/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { to: 'a', text: 'hi' } }),
  });

describe('admission after the body', () => {
  it('256 never-finished bodies do not 429 the same address at the library defaults', async () => {
    await using svc = await startSecurityService();
    const sockets = await openUnfinishedBodies(svc.url, 256, {}, '/rpc/send');
    try {
      const normal = await tally(40, 4, () => send(svc.url));
      console.log(`256 unfinished bodies, then 40 normal commands: ${JSON.stringify(normal.byStatus)}`);
      expect(normal.byStatus).toEqual({ 200: 40 });
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('ends a body that does not arrive in time with 408 and closes its connection', async () => {
    await using svc = await startSecurityService({ limits: { bodyTimeoutMs: 300 } });
    const { hostname, port } = new URL(svc.url);
    const started = performance.now();
    const answer = await new Promise<string>((resolve) => {
      const s: Socket = connect(Number(port), hostname);
      let text = '';
      s.on('data', (d) => {
        text += d.toString('latin1');
      });
      s.on('error', () => {});
      s.on('close', () => resolve(text));
      s.write(
        'POST /rpc/send HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
      );
      setTimeout(() => s.destroy(), 5000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(performance.now() - started).toBeLessThan(3000);
    expect((await rawRequest(`${svc.url}/rpc/whoami`)).status).toBe(200);
  });

  it('caps unfinished bodies per address with 429, and frees the places when they end', async () => {
    await using svc = await startSecurityService({ limits: { maxUnfinishedBodiesPerAddress: 5 } });
    const sockets = await openUnfinishedBodies(svc.url, 5, {}, '/rpc/send');
    try {
      const sixth = await send(svc.url);
      expect(sixth.status).toBe(429);
      expect(sixth.headers['retry-after']).toBe('1');
      // Queries have no body: they are not held up.
      expect((await rawRequest(`${svc.url}/rpc/whoami`)).status).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect((await send(svc.url)).status).toBe(200);
  });
});
