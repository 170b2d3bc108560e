import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchMode } from '../modes.js';

export interface DurableResult {
  available: boolean;
  /** Why the durable figures are missing, when they are. */
  note?: string;
  /** Whatever the durable bench measured (publishes/s acknowledged with SQLite, …). */
  figures?: Record<string, unknown>;
}

/**
 * The durable path (publishes/s acknowledged with SQLite) lives in
 * apps/bench/src/durable.ts, written with @corbel/store-sqlite. This runs it
 * when it is there.
 */
export async function runDurable(mode: BenchMode, progress: (line: string) => void): Promise<DurableResult> {
  const file = fileURLToPath(new URL('../durable.ts', import.meta.url));
  if (!existsSync(file)) return { available: false, note: 'apps/bench/src/durable.ts is not there yet' };
  const mod: Record<string, unknown> = await import('../durable.js' as string);
  const run = (mod.runDurableBench ?? mod.runDurable ?? mod.default) as
    | ((opts: { mode: string; reps: number; progress: (line: string) => void }) => Promise<unknown>)
    | undefined;
  if (typeof run !== 'function') {
    return { available: false, note: 'apps/bench/src/durable.ts exports no runDurableBench()' };
  }
  const figures = (await run({ mode: mode.name, reps: mode.reps, progress })) as Record<string, unknown>;
  return { available: true, figures };
}
