import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuAb } from '../src/cpu-ab.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

// Proves the side-by-side CPU measurement runs on built code and answers a
// ratio per round; it asserts nothing about speed.
describe('cpu-ab: CPU per command of two servers side by side', () => {
  it('measures Corbel against the floor, both built, round by round', async () => {
    const result = await cpuAb({
      a: `${ROOT}:floor`,
      b: `${ROOT}:corbel`,
      rounds: 2,
      commands: 200,
      connections: 4,
    });
    expect(result.ratios).toHaveLength(2);
    expect(result.a.usPerCall).toBeGreaterThan(0);
    expect(result.b.usPerCall).toBeGreaterThan(0);
    for (const r of result.ratios) expect(Number.isFinite(r) && r > 0).toBe(true);
    expect(result.ratio.min).toBeLessThanOrEqual(result.ratio.median);
    expect(result.ratio.median).toBeLessThanOrEqual(result.ratio.max);
  }, 60_000);

  it('refuses a side without a kind, and a kind it does not know', async () => {
    await expect(
      cpuAb({ a: ROOT, b: `${ROOT}:corbel`, rounds: 1, commands: 10, connections: 1 }),
    ).rejects.toThrow(/<repository>:<corbel\|floor>/);
    await expect(
      cpuAb({ a: `${ROOT}:nginx`, b: `${ROOT}:corbel`, rounds: 1, commands: 10, connections: 1 }),
    ).rejects.toThrow(/one of corbel, floor/);
  }, 60_000);
});
