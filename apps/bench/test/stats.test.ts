import { describe, expect, it } from 'vitest';
import { histogramPercentile, percentile, spread } from '../src/stats.js';

describe('histogramPercentile', () => {
  it('merges several processes and agrees with the percentile of the pooled samples', () => {
    const a = [1, 2, 2, 3, 10];
    const b = [2, 4, 4, 4, 50, 51];
    const hist = (xs: number[]) => {
      const m = new Map<number, number>();
      for (const x of xs) m.set(x * 10, (m.get(x * 10) ?? 0) + 1);
      return [...m];
    };
    const pooled = [...a, ...b].sort((x, y) => x - y);
    for (const q of [0.01, 0.5, 0.9, 0.99, 1]) {
      expect(histogramPercentile([hist(a), hist(b)], q, 0.1)).toBeCloseTo(percentile(pooled, q), 9);
    }
  });

  it('is NaN without samples', () => {
    expect(histogramPercentile([[], []], 0.99, 0.1)).toBeNaN();
  });
});

describe('spread', () => {
  it('is the median with the smallest and largest value, and NaN for nothing', () => {
    expect(spread([1.04, 0.91, 0.98, 0.95])).toEqual({ median: 0.965, min: 0.91, max: 1.04 });
    expect(spread([])).toEqual({ median: Number.NaN, min: Number.NaN, max: Number.NaN });
  });
});
