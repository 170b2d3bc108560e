import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hangPlan, healthyPlan, startScriptedServer } from '../test/sse-server.js';
import { connectTimeoutFetch } from './connect-timeout.js';

const streamInit = { headers: { accept: 'text/event-stream' } };

describe('connectTimeoutFetch', () => {
  it('gives up on a connect whose headers never come, with a TimeoutError (which EventSource retries)', async () => {
    await using server = await startScriptedServer();
    server.plans.push(hangPlan);
    const f = connectTimeoutFetch(fetch, { timeoutMs: 200 });
    await expect(f(`${server.url}/rpc/ticks`, streamInit)).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('gives up on a stream whose headers came but no frame', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await connectTimeoutFetch(fetch, { timeoutMs: 200 })(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('passes an answered stream through untouched, and learns the inactivity timeout it announces', async () => {
    await using server = await startScriptedServer();
    server.defaultPlan = healthyPlan(250);
    server.log.publish(1);
    const f = connectTimeoutFetch(fetch);
    const ac = new AbortController();
    const res = await f(
      `${server.url}/rpc/ticks?input=${encodeURIComponent('{"json":{"lastEventId":"0"}}')}`,
      {
        ...streamInit,
        signal: ac.signal,
      },
    );
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('id: e-1')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"reconnectAfterInactivityMs":250');
    ac.abort();
    // No timeoutMs given: the next connect is held to the announced 250 ms, not 25 s.
    server.plans.push(hangPlan);
    await expect(f(`${server.url}/rpc/ticks`, streamInit)).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
