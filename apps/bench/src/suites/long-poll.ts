import { type LongPollBenchRow, runLongPollBench } from '../long-poll-bench.js';
import type { BenchMode } from '../modes.js';

/** N, publish rate and measured time of the long-poll suite in each mode. */
export function longPollSettings(mode: BenchMode): {
  subscribers: number;
  perSec: number;
  durationMs: number;
} {
  if (mode.name === 'smoke') return { subscribers: 20, perSec: 20, durationMs: 1000 };
  if (mode.name === 'quick') return { subscribers: 1000, perSec: 50, durationMs: 3000 };
  return { subscribers: 1000, perSec: 50, durationMs: 10_000 };
}

/**
 * Long polls beside SSE at the same N and publish rate (N = 1,000 at 50
 * events/s outside smoke mode): delivered events/s and p50/p99 publish→receive
 * latency, from long-poll-bench.ts (its server and subscribers each in their
 * own process, SSE first, then long polls).
 */
export async function runLongPoll(
  mode: BenchMode,
  progress: (line: string) => void,
): Promise<{ rows: LongPollBenchRow[] }> {
  return { rows: await runLongPollBench(longPollSettings(mode), progress) };
}
