/**
 * Found this round: the commands of one keep-alive connection share an
 * AbortController (building one costs Node about 5 µs), reused after a
 * finished command only when no listener was left on its signal. A signal a
 * procedure derived from it with `AbortSignal.any` has no listener there, so
 * the controller was reused, and when a later command on the same connection
 * was abandoned by its client, the earlier command's derived signal aborted
 * too: a background task the first command started was cancelled by a
 * stranger's disconnect. Now a signal that anything was derived from leaves
 * the connection like one with a listener.
 */
import { Agent, request } from 'node:http';
import { initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { describe, expect, it } from 'vitest';
import { until } from '../security/fixture.js';

function startService() {
  const t = initCorbel({ isDev: false });
  const derived: AbortSignal[] = [];
  let slowStarted = false;
  let slowAborted = false;
  const router = t.router({
    // Starts "background work" that watches a signal derived from the command's.
    derive: t.procedure.mutation(({ signal }) => {
      derived.push(AbortSignal.any([signal!]));
      return derived.length - 1;
    }),
    // Derives a signal, then never answers unless its client leaves.
    deriveAndWait: t.procedure.mutation(({ signal }) => {
      derived.push(AbortSignal.any([signal!]));
      return new Promise((resolve) => signal!.addEventListener('abort', () => resolve('aborted')));
    }),
    // Never answers unless its client leaves.
    slow: t.procedure.mutation(
      ({ signal }) =>
        new Promise((resolve) => {
          slowStarted = true;
          signal!.addEventListener('abort', () => {
            slowAborted = true;
            resolve('aborted');
          });
        }),
    ),
  });
  const server = createCorbelServer({ router });
  return { server, derived, slowStarted: () => slowStarted, slowAborted: () => slowAborted };
}

/** POSTs to `path` over `agent`; with `leave`, destroys the request once `leave()` says so. */
function post(url: string, agent: Agent, leave?: () => boolean) {
  return new Promise<{ status?: number; reused: boolean }>((resolve) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
      },
    );
    req.on('error', () => resolve({ reused: req.reusedSocket }));
    req.end('{}');
    if (leave) {
      const timer = setInterval(() => {
        if (!leave()) return;
        clearInterval(timer);
        req.destroy();
      }, 10);
      req.on('close', () => clearInterval(timer));
    }
  });
}

describe('a signal derived from a finished command signal', () => {
  it('is not aborted when a later command on the same connection is abandoned', async () => {
    const svc = startService();
    const { url } = await svc.server.listen({ port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await post(`${url}/rpc/derive`, agent)).status).toBe(200);
      const abandoned = await post(`${url}/rpc/slow`, agent, svc.slowStarted);
      // The same connection carried both commands, so they could share a controller.
      expect(abandoned.reused).toBe(true);
      expect(abandoned.status).toBeUndefined();
      // Once the server has seen the client leave (the abandoned command's own signal fired)...
      await until(svc.slowAborted, { what: 'the abandoned command to be aborted' });
      // ...the first command's derived signal is still untouched.
      expect(svc.derived[0]!.aborted).toBe(false);
    } finally {
      agent.destroy();
      await svc.server.close();
    }
  });

  it('is still aborted when its own command is abandoned', async () => {
    const svc = startService();
    const { url } = await svc.server.listen({ port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A finished command first, so the abandoned one may reuse its controller.
      expect((await post(`${url}/rpc/derive`, agent)).status).toBe(200);
      await post(`${url}/rpc/deriveAndWait`, agent, () => svc.derived.length === 2);
      await until(() => svc.derived[1]!.aborted, {
        what: 'the abandoned command to abort its derived signal',
      });
      expect(svc.derived[0]!.aborted).toBe(false);
    } finally {
      agent.destroy();
      await svc.server.close();
    }
  });
});
