import { median } from './stats.js';

/**
 * Corbel ÷ a peer within each repetition (the two measured one after the
 * other, see the commands suite's `measuringOrder`), then the median and range over the repetitions. This machine's
 * speed drifts by a quarter over a minute; a ratio of medians taken minutes
 * apart carries that drift, a median of paired ratios mostly does not.
 */
export interface PairedRatio {
  median: number;
  min: number;
  max: number;
  reps: number;
}

/** One contender's figures in one repetition (a command run, say). */
export interface RepetitionFigures {
  contender: string;
  rep: number;
  rps: number;
  p99Ms: number;
}

/** Corbel's `field` ÷ the peer's, per repetition both finished (see `PairedRatio`). */
export function pairedRatio(
  runs: RepetitionFigures[],
  peer: string,
  field: 'rps' | 'p99Ms',
): PairedRatio | undefined {
  const ratios: number[] = [];
  for (const mine of runs.filter((r) => r.contender === 'corbel')) {
    const theirs = runs.find((r) => r.contender === peer && r.rep === mine.rep);
    if (theirs && theirs[field] > 0) ratios.push(mine[field] / theirs[field]);
  }
  if (ratios.length === 0) return undefined;
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), reps: ratios.length };
}
