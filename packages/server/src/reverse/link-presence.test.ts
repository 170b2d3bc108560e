import { createMemorySessions } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { createLinkPresence } from './link-presence.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('link presence', () => {
  it('counts links here, keeps a just-dropped link for the grace period, and tells other instances', async () => {
    const registry = createMemorySessions();
    // A grace period of 1 s, not less: a stall on a loaded machine between the
    // drop and the checks below must not outlast it.
    const here = createLinkPresence({ registry, instance: 'here', graceMs: 1000, heartbeatMs: 10_000 });
    const there = createLinkPresence({ registry, instance: 'there', graceMs: 1000, heartbeatMs: 10_000 });
    const { id } = await registry.open('alice');
    const info = async () => (await registry.get(id))!;

    expect(here.isConnected(await info())).toBe(false);
    here.opened(id);
    here.opened(id);
    await settle();
    expect([here.local(id), here.total()]).toEqual([2, 2]);
    expect(there.upElsewhere(await info())).toBe(true);
    expect(here.upElsewhere(await info())).toBe(false);

    here.closed(id);
    here.closed(id);
    await settle();
    // Dropped just now: still counted, here and there, until the grace period passes.
    expect(here.isConnected(await info())).toBe(true);
    expect(there.isConnected(await info())).toBe(true);
    const dropped = there.droppedElsewhereAt(await info())!;
    expect(Date.now() - dropped).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 1100));
    expect(here.isConnected(await info())).toBe(false);
    expect(there.isConnected(await info())).toBe(false);
  });

  it('stops counting a link its instance has not re-marked for three heartbeats (it crashed)', async () => {
    const registry = createMemorySessions();
    // Three heartbeats of 200 ms, not less: a stall on a loaded machine between
    // the mark and the first check must not outlast them.
    const crashed = createLinkPresence({ registry, instance: 'crashed', graceMs: 10, heartbeatMs: 200 });
    const alive = createLinkPresence({ registry, instance: 'alive', graceMs: 10, heartbeatMs: 200 });
    const { id } = await registry.open('bob');
    crashed.opened(id);
    await settle();
    expect(alive.isConnected((await registry.get(id))!)).toBe(true);
    await new Promise((r) => setTimeout(r, 700));
    expect(alive.isConnected((await registry.get(id))!)).toBe(false);
    // A live instance re-marks its links, so they keep counting.
    await crashed.refresh(Date.now());
    expect(alive.isConnected((await registry.get(id))!)).toBe(true);
  });
});
