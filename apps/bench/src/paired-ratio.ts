import { type Spread, spread } from './stats.js';

/**
 * Corbel ÷ a peer within each repetition (the two measured one after the
 * other, see the commands suite's `measuringOrder` and the fan-out suite's
 * `fanoutMeasuringOrder`), then the median and range over the repetitions. This machine's
 * speed drifts by a quarter over a minute; a ratio of medians taken minutes
 * apart carries that drift, a median of paired ratios mostly does not.
 */
export interface PairedRatio extends Spread {
  reps: number;
}

/** The fields of `R` that hold numbers. */
type NumberField<R> = { [K in keyof R]-?: R[K] extends number ? K : never }[keyof R];

/**
 * Corbel's `field` ÷ the peer's, per repetition both finished (see `PairedRatio`).
 * `where` keeps the runs of one setting (a fan-out size, say), so that a
 * repetition pairs Corbel with the peer measured beside it. A repetition whose
 * peer figure is missing or not positive is left out rather than divided by.
 */
export function pairedRatio<R extends { contender: string; rep: number }>(
  runs: readonly R[],
  peer: string,
  field: NumberField<R>,
  where: (run: R) => boolean = () => true,
): PairedRatio | undefined {
  const ratios: number[] = [];
  const kept = runs.filter(where);
  for (const mine of kept.filter((r) => r.contender === 'corbel')) {
    const theirs = kept.find((r) => r.contender === peer && r.rep === mine.rep);
    const a = mine[field] as number | undefined;
    const b = theirs?.[field] as number | undefined;
    if (typeof a === 'number' && Number.isFinite(a) && typeof b === 'number' && b > 0) ratios.push(a / b);
  }
  if (ratios.length === 0) return undefined;
  return { ...spread(ratios), reps: ratios.length };
}
