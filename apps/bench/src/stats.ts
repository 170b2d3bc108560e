/** The q-quantile (0..1) of an ascending-sorted sample; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** The median of some numbers (NaN ignored); NaN when none. */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The median of some numbers and their range: how a figure measured several times is reported. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median, smallest and largest of some finite numbers (NaN for all three when there are none). */
export function spread(values: number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * The q-quantile (0..1) of several processes' latency histograms merged
 * (`[bucket, count]` pairs, `width` ms a bucket); NaN when empty.
 *
 * @example
 * histogramPercentile([[[10, 99], [200, 1]]], 0.99, 0.1); // 1 (ms)
 */
export function histogramPercentile(
  histograms: [bucket: number, count: number][][],
  q: number,
  width: number,
): number {
  const merged = new Map<number, number>();
  let total = 0;
  for (const h of histograms) {
    for (const [b, n] of h) {
      merged.set(b, (merged.get(b) ?? 0) + n);
      total += n;
    }
  }
  if (total === 0) return Number.NaN;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
  let seen = 0;
  for (const b of [...merged.keys()].sort((x, y) => x - y)) {
    seen += merged.get(b)!;
    if (seen >= rank) return b * width;
  }
  return Number.NaN;
}
