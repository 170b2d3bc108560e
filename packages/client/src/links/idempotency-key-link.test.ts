import { describe, expect, it } from 'vitest';
import { type ScriptedRouter, startScriptedServer } from '../../test/sse-server.js';
import { createCorbelClient } from '../client.js';

describe('idempotencyKeyLink', () => {
  it('gives each mutation its own key, one per call in a batch; a key the caller gives is kept and sent alone', async () => {
    await using server = await startScriptedServer();
    const client = createCorbelClient<ScriptedRouter>({ url: server.url });
    await Promise.all([client.report.mutate({ n: 1 }), client.report.mutate({ n: 2 })]);
    await client.report.mutate({ n: 3 }, { context: { idempotencyKey: 'saved-key' } });
    expect(server.requests.map((r) => [r.method, r.path, r.query.get('batch')])).toEqual([
      ['POST', 'report,report', '1'],
      ['POST', 'report', null],
    ]);
    const batched = String(server.requests[0]!.headers['idempotency-key']).split(', ');
    expect(batched).toHaveLength(2);
    expect(batched[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(batched[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(batched[0]).not.toBe(batched[1]);
    expect(server.requests[1]!.headers['idempotency-key']).toBe('saved-key');
  });

  it('keeps the key across retries of one call', async () => {
    await using server = await startScriptedServer();
    let n = 0;
    server.onCommand = (_req, res) => {
      if (n++ > 0) return false;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{}');
      return true;
    };
    const client = createCorbelClient<ScriptedRouter>({ url: server.url });
    expect(await client.report.mutate({ n: 1 })).toEqual({ n: 1 });
    const [first, second] = server.requests.map((r) => r.headers['idempotency-key']);
    expect(second).toBe(first);
  });

  it('with idempotencyKeys: false, mutations go unkeyed and batched; queries are never keyed', async () => {
    await using server = await startScriptedServer();
    const client = createCorbelClient<ScriptedRouter>({ url: server.url, idempotencyKeys: false });
    await Promise.all([client.report.mutate({ n: 1 }), client.report.mutate({ n: 2 })]);
    await client.echo.query(1);
    expect(server.requests.map((r) => [r.path, r.headers['idempotency-key']])).toEqual([
      ['report,report', undefined],
      ['echo', undefined],
    ]);
  });
});
