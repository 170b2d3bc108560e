import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initCorbel } from '../init.js';
import { CONTRACT_PROCEDURE, withContract } from './contract-router.js';

describe('withContract', () => {
  const t = initCorbel({ pingIntervalMs: 1234 });
  const app = t.router({
    ping: t.procedure.input(z.object({ n: z.number() })).query(({ input }) => input.n),
  });
  const router = withContract(app, { service: 'demo' });

  it('adds a corbel.contract query answering the whole contract, itself included', async () => {
    const doc = await router.createCaller({}).corbel.contract();
    expect(doc.service).toBe('demo');
    expect(doc.procedures.map((p) => p.path)).toEqual([CONTRACT_PROCEDURE, 'ping']);
    expect(await router.createCaller({}).ping({ n: 2 })).toBe(2);
  });

  it("keeps the original root's configuration", () => {
    expect((router._def._config as any).sse.ping.intervalMs).toBe(1234);
  });
});
