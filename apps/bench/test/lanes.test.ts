import { describe, expect, it } from 'vitest';
import { inLanes } from '../src/lanes.js';

describe('inLanes', () => {
  it('runs every index once, never more than `width` at a time, and answers by index', async () => {
    let running = 0;
    let most = 0;
    const results = await inLanes(20, 3, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      running--;
      return i * 2;
    });
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(most).toBe(3);
  });

  it('starts no more lanes than jobs, and none for no jobs', async () => {
    let started = 0;
    const results = await inLanes(2, 10, async (i) => {
      started++;
      return i;
    });
    expect(results).toEqual([0, 1]);
    expect(started).toBe(2);
    expect(await inLanes(0, 4, async () => 1)).toEqual([]);
  });
});
