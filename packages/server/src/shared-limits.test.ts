import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { SharedLimitStore } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { IdentityCounter, RateLimiter } from './limits.js';
import { type CorbelLogger, silentLogger } from './logger.js';
import { createCorbelMetrics } from './metrics.js';
import { SharedLimits } from './shared-limits.js';

/** A shared store that counts in memory, or fails (down) or never answers (stalled). */
function fakeStore() {
  const state = { down: false, stalled: false, streams: 0, released: 0, taken: 0 };
  const answer = <T>(value: () => T): Promise<T> =>
    state.stalled
      ? new Promise<T>(() => {})
      : state.down
        ? Promise.reject(new Error('ECONNREFUSED'))
        : Promise.resolve(value());
  const store: SharedLimitStore = {
    kind: 'fake',
    takeCommands: (_key, n, _perSecond, burst) =>
      answer(() => {
        state.taken += n;
        return state.taken > burst ? 1 : 0;
      }),
    acquireStream: (_key, max) => answer(() => state.streams < max && ++state.streams > 0),
    releaseStream: () =>
      answer(() => {
        state.released++;
        state.streams--;
      }),
    close: async () => {},
  };
  return { store, state };
}

function setup() {
  const { store, state } = fakeStore();
  const lines: string[] = [];
  const logger: CorbelLogger = {
    debug: () => {},
    info: (_o, msg) => lines.push(`info ${msg}`),
    warn: (_o, msg) => lines.push(`warn ${msg}`),
    error: () => {},
  };
  const metrics = createCorbelMetrics({ processMetrics: false });
  const local = { rate: new RateLimiter(1, 2), streams: new IdentityCounter(1) };
  const limits = new SharedLimits(store, local, logger, metrics, 50);
  const shared = async () => (await metrics.limitsShared.get()).values[0]?.value;
  return { limits, state, lines, shared, metrics };
}

describe('SharedLimits', () => {
  it('counts in the shared store while it answers', async () => {
    const { limits, state, shared } = setup();
    expect(await limits.takeCommands('k', 2)).toBe(0);
    expect(await limits.takeCommands('k', 1)).toBe(1);
    expect(await limits.acquireStream('k')).toBe('shared');
    expect(await limits.acquireStream('k')).toBe(false);
    limits.releaseStream('k', 'shared');
    await Promise.resolve();
    expect(state.released).toBe(1);
    expect(await shared()).toBe(1);
  });

  it('falls back to the local limiters when the store is down or stalls, says so once, and comes back', async () => {
    const { limits, state, lines, shared, metrics } = setup();
    state.down = true;
    expect(await limits.takeCommands('k', 1)).toBe(0);
    expect(await limits.takeCommands('k', 1)).toBe(0);
    expect(await limits.takeCommands('k', 1)).toBeGreaterThan(0);
    state.down = false;
    state.stalled = true;
    expect(await limits.acquireStream('k')).toBe('local');
    expect(await limits.acquireStream('k')).toBe(false);
    limits.releaseStream('k', 'local');
    expect(await limits.acquireStream('k')).toBe('local');
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    expect(await shared()).toBe(0);
    expect((await metrics.limitsDegraded.get()).values[0]?.value).toBe(1);
    state.stalled = false;
    expect(await limits.acquireStream('k')).toBe('shared');
    expect(lines.at(-1)).toBe('info cluster-wide limits restored');
    expect(await shared()).toBe(1);
  });

  // Regression: a pause of this process longer than the timeout (GC, a busy
  // turn under load) made a store answer that had already arrived look like
  // an outage, and the instance fell back to its own limits for no reason.
  it('takes an answer that arrived while this process was busy past the timeout (busy-process-taken-for-store-outage)', async () => {
    // The store is another process (as Redis is): it answers while this one is busy.
    const echo = spawn(
      process.execPath,
      [
        '-e',
        "const s=require('node:net').createServer(c=>c.on('data',d=>c.write(d)));s.listen(0,'127.0.0.1',()=>console.log(s.address().port))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = Number(
      await new Promise<string>((resolve) => echo.stdout!.once('data', (d) => resolve(String(d)))),
    );
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    try {
      const { store } = fakeStore();
      // The store's answer comes over a real socket, read in the loop's poll phase.
      store.acquireStream = () =>
        new Promise((resolve) => {
          socket.once('data', () => resolve(true));
          socket.write('x');
        });
      const metrics = createCorbelMetrics({ processMetrics: false });
      const local = { rate: new RateLimiter(1, 2), streams: new IdentityCounter(1) };
      const limits = new SharedLimits(store, local, silentLogger, metrics, 50);
      const slot = limits.acquireStream('k');
      // Busy for three timeouts: the echo arrives meanwhile, unread.
      const until = Date.now() + 150;
      while (Date.now() < until) {}
      expect(await slot).toBe('shared');
      expect((await metrics.limitsDegraded.get()).values[0]?.value ?? 0).toBe(0);
    } finally {
      socket.destroy();
      echo.kill();
    }
  });
});
