/**
 * Prints the table of a saved JSON report (`npm run bench -- --out file.json`).
 *
 *   node --conditions=@corbel/source --import tsx apps/bench/src/render.ts file.json
 */
import { readFileSync } from 'node:fs';
import { type BenchReport, renderReport } from './report.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: render.ts <report.json>\n');
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
process.stdout.write(`${renderReport(report)}\n`);
