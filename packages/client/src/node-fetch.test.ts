import { describe, expect, it } from 'vitest';
import { startScriptedServer, until } from '../test/sse-server.js';
import { createNodeFetch } from './node-fetch.js';

describe('createNodeFetch (over http)', () => {
  it('sends method, headers and body, and returns status, headers and body', async () => {
    await using server = await startScriptedServer();
    const f = createNodeFetch();
    const res = await f(`${server.url}/rpc/report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: '{"json":{"n":1}}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ result: { data: { json: { n: 1 } } } });
    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      authorization: 'Bearer x',
      body: '{"json":{"n":1}}',
    });
  });

  it('streams an event stream as it arrives', async () => {
    await using server = await startScriptedServer();
    const res = await createNodeFetch()(
      new Request(`${server.url}/rpc/ticks`, { headers: { accept: 'text/event-stream' } }),
    );
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: connected')) text += (await reader.read()).value ?? '';
    server.log.publish(1);
    while (!text.includes('id: e-1')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    await until(() => server.streams[0]!.closed, 'the stream to close');
  });

  it('aborts with its signal, and refuses bodies it cannot send', async () => {
    await using server = await startScriptedServer();
    server.onCommand = () => true; // never answers
    const f = createNodeFetch();
    const ac = new AbortController();
    const pending = f(`${server.url}/rpc/echo`, { signal: ac.signal });
    await until(() => server.requests.length === 1, 'the request');
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(f(`${server.url}/rpc/echo`, { signal: AbortSignal.abort() })).rejects.toThrow();
    await expect(f(`${server.url}/rpc/echo`, { method: 'POST', body: new Blob(['x']) })).rejects.toThrow(
      TypeError,
    );
  });

  it('gives a 204 no body', async () => {
    await using server = await startScriptedServer();
    server.onCommand = (_req, res) => {
      res.writeHead(204);
      res.end();
      return true;
    };
    const res = await createNodeFetch()(`${server.url}/rpc/echo`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
  });
});
