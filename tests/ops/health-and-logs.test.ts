import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { createCorbelClient } from '@corbel/client';
import { openSse, rawRequest } from '@corbel/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { q, type SecurityRouter, startSecurityService, until } from '../security/fixture.js';

describe('health endpoints', () => {
  it('/healthz says the process is up; /readyz is ready, then not ready when the store is gone', async () => {
    await using svc = await startSecurityService();
    expect((await rawRequest(`${svc.url}/healthz`)).json).toEqual({ status: 'ok', draining: false });
    const ready = await rawRequest(`${svc.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready' });

    await svc.hub.log.close();
    const gone = await rawRequest(`${svc.url}/readyz`);
    expect(gone.status).toBe(503);
    expect(gone.json.status).toBe('not-ready');
    expect(gone.json.reason).toMatch(/^store unreachable: /);
    // Still alive, just not ready.
    expect((await rawRequest(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('/readyz turns not-ready while the server drains', async () => {
    await using svc = await startSecurityService();
    const { hostname, port } = new URL(svc.url);
    // A command that keeps the drain going for a while.
    const slow = rawRequest(`${svc.url}/rpc/slow?${q({ ms: 1500 })}`);
    await new Promise((r) => setTimeout(r, 200));
    // A connection that has begun its request (so it is not idle) before the drain starts.
    const probe = connect(Number(port), hostname);
    probe.on('error', () => {});
    let answer = '';
    probe.setEncoding('utf8');
    probe.on('data', (d) => {
      answer += d;
    });
    await new Promise<void>((r) => probe.once('connect', () => r()));
    probe.write('GET /readyz HTTP/1.1\r\nhost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const closing = svc.server.close();
    expect(svc.server.draining).toBe(true);
    probe.write('connection: close\r\n\r\n');
    await until(() => answer.includes('}'), { what: 'the /readyz answer', timeoutMs: 5000 });
    expect(answer).toMatch(/^HTTP\/1.1 503/);
    expect(answer).toContain('"reason":"draining"');
    expect((await slow).status).toBe(200);
    await closing;
    expect(await svc.server.readiness()).toEqual({ ready: false, reason: 'draining' });
  });
});

describe('structured logs', () => {
  it('logs one line per command error and per stream open/close with its reason, carrying x-request-id', async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    await using svc = await startSecurityService({ logger });
    const bad = await rawRequest(`${svc.url}/rpc/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-abc-123' },
      body: JSON.stringify({ json: { n: 'x' } }),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-request-id')).toBe('req-abc-123');
    // An unsafe id is replaced, not logged as sent.
    const odd = await rawRequest(`${svc.url}/healthz`, { headers: { 'x-request-id': 'a b"c' } });
    expect(odd.headers.get('x-request-id')).not.toBe('a b"c');

    // Every answer carries the id: a success, a stream, a HEAD, a 404.
    const ok = await rawRequest(`${svc.url}/rpc/whoami`, { headers: { 'x-request-id': 'ok-1' } });
    expect([ok.status, ok.headers.get('x-request-id')]).toEqual([200, 'ok-1']);
    const head = await rawRequest(`${svc.url}/rpc/whoami`, { method: 'HEAD' });
    expect(head.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-/);
    const missing = await rawRequest(`${svc.url}/nowhere`, { headers: { 'x-request-id': 'lost-1' } });
    expect([missing.status, missing.headers.get('x-request-id')]).toEqual([404, 'lost-1']);
    await using _sse = await openSse(`${svc.url}/rpc/ticks?${q({})}`, { 'x-request-id': 'stream-1' });
    expect(_sse.headers['x-request-id']).toBe('stream-1');
    await until(() => svc.server.streamCount === 1, { what: 'stream open', timeoutMs: 5000 });
    const client = createCorbelClient<SecurityRouter>({ url: svc.url });
    await client.whoami.query();
    await svc.server.close();

    const error = lines.find((l) => l.reqId === 'req-abc-123');
    expect(error).toMatchObject({
      level: 30,
      path: 'publish',
      status: 400,
      code: 'BAD_REQUEST',
      type: 'mutation',
    });
    expect(lines.filter((l) => l.reqId === 'req-abc-123')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'stream open')).toMatchObject({ reqId: 'stream-1', path: 'ticks' });
    expect(lines.find((l) => l.msg === 'stream close')).toMatchObject({
      reqId: 'stream-1',
      path: 'ticks',
      reason: 'drained',
      events: 0,
    });
    // Successful commands are not logged line by line (metrics count them).
    expect(lines.filter((l) => l.path === 'whoami')).toHaveLength(0);
  });
});
