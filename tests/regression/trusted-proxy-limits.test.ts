/**
 * Issue 15, finding 2: limits keyed on the socket address only, so behind a
 * reverse proxy one noisy user got the quiet users behind the same proxy
 * 429s. With `trustProxy`, each client behind a trusted proxy has its own
 * limits; without it (the default) the forwarding headers are ignored, so a
 * client cannot pick its own key by sending them.
 */
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startSecurityService } from '../security/fixture.js';
import { tally, timedRequest } from '../security/round-two-attacks.js';

const limits = { commandsPerSecond: 5, commandBurst: 10 };
const whoami = (url: string, client: string) =>
  timedRequest(`${url}/rpc/whoami`, { headers: { 'x-forwarded-for': client } });

describe('limits per client behind a trusted proxy', () => {
  it('a noisy client behind the proxy does not get the quiet ones 429s', async () => {
    await using svc = await startSecurityService({ limits, trustProxy: ['127.0.0.1'] });
    const noisy = await tally(40, 4, () => whoami(svc.url, '203.0.113.1'));
    const quiet = await whoami(svc.url, '203.0.113.2');
    console.log(`behind a trusted proxy: noisy ${JSON.stringify(noisy.byStatus)}, quiet ${quiet.status}`);
    expect(noisy.byStatus[429]).toBeGreaterThan(0);
    expect(quiet.status).toBe(200);
  });

  it('without trustProxy the headers are ignored: every client of the proxy is one address', async () => {
    await using svc = await startSecurityService({ limits });
    await tally(40, 4, () => whoami(svc.url, '203.0.113.1'));
    // A forged header does not buy a fresh budget.
    expect((await whoami(svc.url, '203.0.113.2')).status).toBe(429);
  });

  // The anonymous limit key is kept on the socket (one string per keep-alive
  // connection); behind a proxy one connection carries many clients, and each
  // must still be counted as itself.
  it('counts each forwarded client as itself on one keep-alive connection', async () => {
    await using svc = await startSecurityService({
      limits: { commandsPerSecond: 0.001, commandBurst: 2 },
      trustProxy: ['127.0.0.1'],
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const call = (client: string) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = request(
          `${svc.url}/rpc/whoami`,
          { agent, headers: { 'x-forwarded-for': client } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      const answers = [];
      for (const client of ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.2']) {
        answers.push(await call(client));
      }
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 200, 200]);
      expect(answers.slice(1).every((a) => a.reused)).toBe(true);
      // And the first client is still out of budget on the same connection.
      expect((await call('203.0.113.1')).status).toBe(429);
    } finally {
      agent.destroy();
    }
  });
});
