/** Edit distance between two short strings (procedure paths). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/**
 * Up to three known names closest to `name`, for "did you mean" messages (the
 * server's NOT_FOUND and the CLI's unknown-procedure error).
 *
 * @example
 * closestNames('weather.reprot', ['weather.report', 'weather.latest']); // ['weather.report']
 */
export function closestNames(name: string, known: string[]): string[] {
  const probe = name.slice(0, 200);
  return known
    .map((k) => ({ k, d: distance(probe.toLowerCase(), k.toLowerCase()) }))
    .filter(({ k, d }) => d <= Math.max(3, Math.floor(k.length / 2)))
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map(({ k }) => k);
}
