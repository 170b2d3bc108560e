/** The arithmetic of the instruction count (instructions.ts): what valgrind printed, per command. */

/** What valgrind counted in one server process that answered `requests` commands. */
export interface Counted {
  kind: string;
  requests: number;
  instructions: number;
}

/** Per contender: instructions per command between the two counts. */
export interface PerCommand {
  kind: string;
  instructionsPerCommand: number;
}

/** The total callgrind prints when the process ends ("Collected : 6079540337"). */
export function collectedInstructions(valgrindOutput: string): number | undefined {
  const m = /Collected : (\d+)/.exec(valgrindOutput);
  return m ? Number(m[1]) : undefined;
}

/** Instructions one more command costs: the slope between the smaller and larger count of each contender. */
export function perCommand(counts: Counted[]): PerCommand[] {
  const kinds = [...new Set(counts.map((c) => c.kind))];
  return kinds.map((kind) => {
    const mine = counts.filter((c) => c.kind === kind).sort((a, b) => a.requests - b.requests);
    const low = mine[0]!;
    const high = mine[mine.length - 1]!;
    if (high.requests === low.requests) throw new Error(`${kind}: two different request counts are needed`);
    return {
      kind,
      instructionsPerCommand: (high.instructions - low.instructions) / (high.requests - low.requests),
    };
  });
}
