import { describe, expect, it } from 'vitest';
import { collectedInstructions, perCommand } from '../src/instruction-count.js';

describe('instruction count', () => {
  it("reads callgrind's total from its last lines", () => {
    const out =
      '==7722== Events    : Ir\n==7722== Collected : 6079540337\n==7722==\n==7722== I   refs:      6,079,540,337';
    expect(collectedInstructions(out)).toBe(6_079_540_337);
    expect(collectedInstructions('==1== error')).toBeUndefined();
  });

  it('is the slope between the two counts, so start-up and warm-up cancel', () => {
    const rows = perCommand([
      { kind: 'corbel', requests: 7500, instructions: 7_805_708_025 },
      { kind: 'corbel', requests: 2500, instructions: 6_079_540_337 },
      { kind: 'floor', requests: 2500, instructions: 5_540_880_066 },
      { kind: 'floor', requests: 7500, instructions: 6_883_674_077 },
    ]);
    expect(rows.map((r) => [r.kind, Math.round(r.instructionsPerCommand)])).toEqual([
      ['corbel', 345_234],
      ['floor', 268_559],
    ]);
    expect(() => perCommand([{ kind: 'raw', requests: 10, instructions: 1 }])).toThrow(/two different/);
  });
});
