import { describe, expect, it } from 'vitest';
import { createHealth } from './health.js';

describe('readiness', () => {
  it('is ready when not draining and the store answers', async () => {
    const health = createHealth({ isDraining: () => false, store: { ping: async () => {} } });
    expect(await health.readiness()).toEqual({ ready: true });
  });

  it('is not ready while draining, whatever the store says', async () => {
    const health = createHealth({ isDraining: () => true, store: { ping: async () => {} } });
    expect(await health.readiness()).toEqual({ ready: false, reason: 'draining' });
  });

  it("names the store's or the app's failure", async () => {
    const down = createHealth({
      isDraining: () => false,
      store: {
        ping: async () => {
          throw new Error('connection refused');
        },
      },
    });
    expect(await down.readiness()).toEqual({ ready: false, reason: 'store unreachable: connection refused' });
    const app = createHealth({
      isDraining: () => false,
      readiness: () => {
        throw new Error('warming up');
      },
    });
    expect((await app.readiness()).reason).toContain('warming up');
  });

  it('leaves other paths alone', () => {
    const health = createHealth({ isDraining: () => false });
    expect(health.handle({} as never, '/rpc/x')).toBe(false);
  });
});
