import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  refusingUrl,
  type ScriptedServer,
  startResettingServer,
  startScriptedServer,
  until,
} from '../test/sse-server.js';
import { createInstancePool } from './failover.js';
import { mutationRetryFetch } from './mutation-retry.js';

const rpc = (origin: string) => `${origin}/rpc`;
const keyed = { method: 'POST', body: '{"json":{"n":1}}', headers: { 'idempotency-key': 'k-1' } };

/** Answers the n-th command (0-based) with `answers[n]`, then 200 with the body "ok". */
function script(server: ScriptedServer, answers: ((res: ServerResponse) => void)[]) {
  let n = 0;
  server.onCommand = (_req, res) => {
    const answer = answers[n++];
    if (answer) answer(res);
    else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('"ok"');
    }
    return true;
  };
}
const status =
  (code: number, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(`{"status":${code}}`);
  };

describe('mutationRetryFetch', () => {
  it('sends the same request again, key and body, on the next instance after a 502/503/504', async () => {
    await using a = await startScriptedServer();
    await using b = await startScriptedServer();
    script(a, [status(503)]);
    const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
    const res = await mutationRetryFetch(pool, fetch)(`${rpc(a.url)}/report`, keyed);
    expect(res.status).toBe(200);
    const sent = [...a.requests, ...b.requests];
    expect(sent.map((r) => [r.path, r.body, r.headers['idempotency-key']])).toEqual([
      ['report', keyed.body, 'k-1'],
      ['report', keyed.body, 'k-1'],
    ]);
    expect(pool.current()).toBe(rpc(b.url));
  });

  it('retries 409 IDEMPOTENCY_IN_FLIGHT on the same instance, after the Retry-After it names', async () => {
    await using a = await startScriptedServer();
    await using b = await startScriptedServer();
    script(a, [status(409, { 'retry-after': '1' })]);
    const pool = createInstancePool([rpc(a.url), rpc(b.url)]);
    const res = await mutationRetryFetch(pool, fetch)(`${rpc(a.url)}/report`, keyed);
    expect(res.status).toBe(200);
    expect([a.requests.length, b.requests.length]).toEqual([2, 0]);
    expect(a.requests[1]!.at - a.requests[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('retries after a refused connection, a reset before the answer and a reset in the middle of the body', async () => {
    await using broken = await startResettingServer();
    await using b = await startScriptedServer();
    const dead = rpc(await refusingUrl());
    const viaBroken = createInstancePool([dead, rpc(broken.url), rpc(b.url)]);
    expect((await mutationRetryFetch(viaBroken, fetch)(`${dead}/report`, keyed)).status).toBe(200);
    expect([broken.requests(), b.requests.length]).toEqual([1, 1]);

    await using c = await startScriptedServer();
    script(c, [
      (res) => {
        // The head and half the body, then the connection dies.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"result":');
        setTimeout(() => res.socket?.destroy(), 20);
      },
    ]);
    const res = await mutationRetryFetch(createInstancePool([rpc(c.url)]), fetch)(
      `${rpc(c.url)}/report`,
      keyed,
    );
    expect([res.status, await res.text()]).toEqual([200, '"ok"']);
    expect(c.requests).toHaveLength(2);
  });

  it('abandons an attempt that outlives attemptTimeoutMs and sends it again', async () => {
    await using a = await startScriptedServer();
    script(a, [() => {}]);
    const pool = createInstancePool([rpc(a.url)]);
    // 1 s, not less: client and server share this process, and a stall that long
    // runs the second attempt's timer before its answer is read (a third attempt).
    const res = await mutationRetryFetch(pool, fetch, { attemptTimeoutMs: 1000 })(
      `${rpc(a.url)}/report`,
      keyed,
    );
    expect(res.status).toBe(200);
    expect(a.requests).toHaveLength(2);
  });

  it('gives up after `attempts`: the last answer is returned, or the last error thrown', async () => {
    await using a = await startScriptedServer();
    script(a, [status(503), status(503), status(503)]);
    const pool = createInstancePool([rpc(a.url)]);
    const res = await mutationRetryFetch(pool, fetch, { attempts: 3 })(`${rpc(a.url)}/report`, keyed);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 503 });
    expect(a.requests).toHaveLength(3);

    const dead = rpc(await refusingUrl());
    const error = await mutationRetryFetch(createInstancePool([dead]), fetch, { attempts: 2 })(
      `${dead}/report`,
      keyed,
    ).catch((e: unknown) => e);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });

  it("stops at the caller's abort, even between attempts", async () => {
    await using a = await startScriptedServer();
    script(a, [status(409, { 'retry-after': '2' })]);
    const ac = new AbortController();
    const pending = mutationRetryFetch(createInstancePool([rpc(a.url)]), fetch)(`${rpc(a.url)}/report`, {
      ...keyed,
      signal: ac.signal,
    });
    await until(() => a.requests.length === 1, 'the first attempt');
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(a.requests).toHaveLength(1);
  });

  it('sends a URL outside the pool as it is', async () => {
    await using a = await startScriptedServer();
    await using other = await startScriptedServer();
    const res = await mutationRetryFetch(createInstancePool([rpc(a.url)]), fetch)(
      `${rpc(other.url)}/report`,
      keyed,
    );
    expect(res.status).toBe(200);
    expect([a.requests.length, other.requests.length]).toEqual([0, 1]);
  });
});
