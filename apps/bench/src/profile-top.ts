/**
 * Summarizes .cpuprofile files (from `npm run bench -- --profile dir`): the
 * functions with the most self time, as a share of the profile.
 *
 *   node --import tsx apps/bench/src/profile-top.ts dir/*.cpuprofile [--top 30] [--window 30,70]
 *
 * `--window from,to` counts only the samples taken that many seconds after the
 * profile started (e.g. a scale check's publishing, not its connecting).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
const topIndex = process.argv.indexOf('--top');
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
const windowIndex = process.argv.indexOf('--window');
const [from, to] =
  windowIndex > 0
    ? process.argv[windowIndex + 1]!.split(',').map((s) => Number(s) * 1e6)
    : [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const hits = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t >= from! && t < to!) hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const n = hits.get(node.id) ?? 0;
    total += n;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(node_modules|packages|apps)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`;
    byFrame.set(key, (byFrame.get(key) ?? 0) + n);
  }
  const idle = [...byFrame.entries()].find(([k]) => k.startsWith('(idle)'))?.[1] ?? 0;
  process.stdout.write(`\n${file}: ${total} samples, ${((100 * idle) / total).toFixed(1)}% idle\n`);
  const busy = total - idle;
  for (const [key, n] of [...byFrame.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    process.stdout.write(`${((100 * n) / busy).toFixed(1).padStart(5)}%  ${key}\n`);
  }
}
