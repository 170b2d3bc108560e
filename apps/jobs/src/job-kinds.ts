import { z } from 'zod';

/**
 * The kinds of job the server runs. Each is split into numbered ranges; a
 * worker computes one range at a time and reports its partial result, so
 * progress is "ranges done / ranges" and a restart can resume after the last
 * range it finished (the checkpoint).
 *
 * Everything here is pure: the worker thread imports it to compute, the main
 * thread to plan ranges and combine partials.
 */

export const MAX_UP_TO = 10_000_000_000;

export const startInputSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('primes'),
    upTo: z.number().int().min(2).max(MAX_UP_TO).describe('Count primes in [2, upTo]'),
  }),
  z.object({
    kind: z.literal('collatz'),
    upTo: z.number().int().min(2).max(1_000_000_000).describe('Longest Collatz chain starting below upTo'),
  }),
]);
export type StartInput = z.output<typeof startInputSchema>;
export type JobKind = StartInput['kind'];

export const partialSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('primes'),
    from: z.number(),
    to: z.number(),
    /** Primes in [from, to]. */
    count: z.number(),
    /** Their sum (a BigInt: it passes 2^53 quickly; superjson carries it as one). */
    sum: z.bigint(),
    largest: z.number().nullable(),
  }),
  z.object({
    kind: z.literal('collatz'),
    from: z.number(),
    to: z.number(),
    /** The start in [from, to] with the longest chain, and its length in steps. */
    start: z.number(),
    steps: z.number(),
  }),
]);
export type Partial = z.output<typeof partialSchema>;

export const resultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('primes'),
    upTo: z.number(),
    count: z.number(),
    sum: z.bigint(),
    largest: z.number().nullable(),
  }),
  z.object({ kind: z.literal('collatz'), upTo: z.number(), start: z.number(), steps: z.number() }),
]);
export type Result = z.output<typeof resultSchema>;

export interface Range {
  index: number;
  from: number;
  to: number;
}

/** How a job is cut: about 100 ranges, none smaller than 10,000 numbers. */
export function rangeCount(input: StartInput): number {
  return Math.max(1, Math.min(100, Math.ceil(input.upTo / 10_000)));
}

/** The numbers range `index` covers (inclusive), from 2 up to `upTo`. */
export function rangeAt(input: StartInput, index: number): Range {
  const count = rangeCount(input);
  const span = input.upTo - 1; // numbers 2..upTo
  const from = 2 + Math.floor((span * index) / count);
  const to = 1 + Math.floor((span * (index + 1)) / count);
  return { index, from, to };
}

/** Computes one range. Runs in a worker thread: CPU-bound on purpose. */
export function computeRange(input: StartInput, range: Range, basePrimes?: Int32Array): Partial {
  return input.kind === 'primes'
    ? primesIn(range, basePrimes ?? smallPrimes(Math.floor(Math.sqrt(input.upTo)) + 1))
    : collatzIn(range);
}

/** Combines the partials of every range into the job's result. */
export function combine(input: StartInput, partials: Partial[]): Result {
  if (input.kind === 'primes') {
    let count = 0;
    let sum = 0n;
    let largest: number | null = null;
    for (const p of partials) {
      if (p.kind !== 'primes') continue;
      count += p.count;
      sum += p.sum;
      if (p.largest !== null && (largest === null || p.largest > largest)) largest = p.largest;
    }
    return { kind: 'primes', upTo: input.upTo, count, sum, largest };
  }
  let best = { start: 1, steps: 0 };
  for (const p of partials) {
    if (p.kind === 'collatz' && (p.steps > best.steps || (p.steps === best.steps && p.start < best.start)))
      best = { start: p.start, steps: p.steps };
  }
  return { kind: 'collatz', upTo: input.upTo, ...best };
}

/** Primes below `limit` (a plain sieve; limit is at most ~100,000). */
export function smallPrimes(limit: number): Int32Array {
  const composite = new Uint8Array(limit + 1);
  const out: number[] = [];
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    out.push(i);
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return Int32Array.from(out);
}

/** Segmented sieve of Eratosthenes over [from, to], in blocks of 1 MiB. */
function primesIn(range: Range, basePrimes: Int32Array): Partial {
  const BLOCK = 1 << 20;
  let count = 0;
  let sum = 0n;
  let largest: number | null = null;
  const block = new Uint8Array(BLOCK);
  for (let lo = range.from; lo <= range.to; lo += BLOCK) {
    const hi = Math.min(range.to, lo + BLOCK - 1);
    block.fill(0, 0, hi - lo + 1);
    for (let k = 0; k < basePrimes.length; k++) {
      const p = basePrimes[k]!;
      if (p * p > hi) break;
      let start = Math.max(p * p, Math.ceil(lo / p) * p);
      for (; start <= hi; start += p) block[start - lo] = 1;
    }
    let blockSum = 0;
    for (let n = lo; n <= hi; n++) {
      if (block[n - lo] === 0 && n >= 2) {
        count++;
        blockSum += n;
        largest = n;
        // Keep the float sum exact: flush before it could pass 2^53.
        if (blockSum > 9e15) {
          sum += BigInt(blockSum);
          blockSum = 0;
        }
      }
    }
    sum += BigInt(blockSum);
  }
  return { kind: 'primes', from: range.from, to: range.to, count, sum, largest };
}

function collatzIn(range: Range): Partial {
  let best = { start: range.from, steps: -1 };
  for (let n = range.from; n <= range.to; n++) {
    let x = n;
    let steps = 0;
    while (x !== 1) {
      x = x % 2 === 0 ? x / 2 : 3 * x + 1;
      steps++;
    }
    if (steps > best.steps) best = { start: n, steps };
  }
  return { kind: 'collatz', from: range.from, to: range.to, start: best.start, steps: best.steps };
}
