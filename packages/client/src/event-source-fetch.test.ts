import { describe, expect, it } from 'vitest';
import { errorShape, refusingUrl, startScriptedServer } from '../test/sse-server.js';
import { backingOffFetch, eventSourceFetch } from './event-source-fetch.js';

/** A scripted server answering commands with `status`, `body` and `headers`. */
async function answering(status: number, body: string, headers: Record<string, string>) {
  const server = await startScriptedServer();
  server.onCommand = (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
    return true;
  };
  return server;
}

describe('eventSourceFetch', () => {
  it('computes the auth headers afresh for every connect, over the headers EventSource sends', async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    let n = 0;
    const f = eventSourceFetch({ getToken: () => `t${++n}`, headers: () => ({ 'x-n': String(n) }) });
    for (let i = 0; i < 2; i++) {
      const res = await f(`${server.url}/rpc/ticks`, {
        headers: { accept: 'text/event-stream', 'last-event-id': 'e-1' },
      });
      await res.body?.cancel();
    }
    expect(server.requests.map((r) => [r.authorization, r.headers['x-n'], r.lastEventIdHeader])).toEqual([
      ['Bearer t1', '0', 'e-1'],
      ['Bearer t2', '1', 'e-1'],
    ]);
  });

  it('passes a stream through untouched', async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    server.log.publish(2);
    const res = await eventSourceFetch({ token: 'x' })(`${server.url}/rpc/ticks`, {
      headers: { accept: 'text/event-stream', 'last-event-id': 'e-1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('e-2')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    expect(text).toContain('event: connected');
    expect(text).toContain('id: e-2\ndata: {"json":{"n":2}}\n\n');
    expect(server.requests[0]!.authorization).toBe('Bearer x');
  });

  it("turns a refused stream into tRPC's serialized-error frame, with the Retry-After as retry: and in the error", async () => {
    const error = errorShape({
      code: 'TOO_MANY_REQUESTS',
      httpStatus: 429,
      corbelCode: 'LIMIT_EXCEEDED',
      retryable: true,
    });
    await using server = await answering(429, JSON.stringify({ error: { json: error } }), {
      'content-type': 'application/json',
      'retry-after': '3',
    });
    const res = await eventSourceFetch({})(`${server.url}/rpc/ticks`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    const lines = text.split('\n');
    expect(lines.slice(0, 2)).toEqual(['retry: 3000', 'event: serialized-error']);
    const data = JSON.parse(lines[2]!.slice('data: '.length));
    expect(data).toEqual({ json: { ...error, data: { ...error.data, retryAfterMs: 3000 } } });
    expect(text.endsWith('\n\n')).toBe(true);
  });

  it('waits a second before the next attempt when the refusal names no Retry-After (or an absurd one, a minute)', async () => {
    const body = JSON.stringify({ error: { json: errorShape({ code: 'FORBIDDEN', httpStatus: 403 }) } });
    await using plain = await answering(403, body, { 'content-type': 'application/json' });
    expect((await (await eventSourceFetch({})(`${plain.url}/rpc/ticks`)).text()).split('\n')[0]).toBe(
      'retry: 1000',
    );
    await using long = await answering(503, body, {
      'content-type': 'application/json',
      'retry-after': '86400',
    });
    expect((await (await eventSourceFetch({})(`${long.url}/rpc/ticks`)).text()).split('\n')[0]).toBe(
      'retry: 60000',
    );
  });

  it('leaves other failures for EventSource to report: not JSON, JSON without an error, JSON that does not parse', async () => {
    for (const [body, type] of [
      ['<html>bad gateway</html>', 'text/html'],
      ['{"result":{}}', 'application/json'],
      ['{"error":', 'application/json'],
    ] as const) {
      await using server = await answering(502, body, { 'content-type': type });
      const res = await eventSourceFetch({})(`${server.url}/rpc/ticks`);
      expect(res.status).toBe(502);
    }
  });
});

describe('backingOffFetch', () => {
  it('waits longer and longer between failed connects, and not at all after an answer', async () => {
    const server = await startScriptedServer();
    const attempts: number[] = [];
    const recording: typeof fetch = (input, init) => {
      attempts.push(Date.now());
      return fetch(input, init);
    };
    const f = backingOffFetch(recording, 1000);
    const url = `${server.url}/rpc/echo`;
    await (await f(url)).text();
    await (await f(url)).text();
    await server.close();
    for (let i = 0; i < 3; i++) await expect(f(url)).rejects.toThrow();
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // No wait after an answer, nor before the first attempt that fails; then backoffs of
    // at least 125 and 250 ms (jitter in the upper half of 250 and 500).
    expect(gaps).toHaveLength(4);
    expect(gaps[2]).toBeGreaterThanOrEqual(125);
    expect(gaps[3]).toBeGreaterThanOrEqual(250);
  });

  it('counts a refusal (a retryable 503 that EventSource retries by itself) as a failed connect', async () => {
    const draining = errorShape({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      corbelCode: 'DRAINING',
      retryable: true,
    });
    await using server = await answering(503, JSON.stringify({ error: { json: draining } }), {
      'content-type': 'application/json',
    });
    const attempts: number[] = [];
    const recording: typeof fetch = (input, init) => {
      attempts.push(Date.now());
      return fetch(input, init);
    };
    const f = backingOffFetch(eventSourceFetch({}, recording), 1000);
    for (let i = 0; i < 3; i++)
      expect((await (await f(`${server.url}/rpc/ticks`)).text()).split('\n')[1]).toBe(
        'event: serialized-error',
      );
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(125);
    expect(gaps[1]).toBeGreaterThanOrEqual(250);
  });

  it('stops waiting when the EventSource closes', async () => {
    const dead = await refusingUrl();
    const f = backingOffFetch(fetch, 60_000);
    await expect(f(dead)).rejects.toThrow();
    const ac = new AbortController();
    const pending = f(dead, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
