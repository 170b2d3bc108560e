/**
 * The bench's HTML report: one self-contained file (inline SVG and CSS, no
 * script, no network) with the charts people would rather look at than the
 * tables: fan-out delivered/s, p99 and RSS per subscriber against N for every
 * contender, commands req/s and p99, and the scale and long-poll figures.
 *
 * Every plotted value is an SVG element carrying its data (`data-series`,
 * `data-x`, `data-y`), so a test can check the charts from the page itself.
 */
import {
  type BenchReport,
  CONTENDER_NAMES,
  fmt,
  SCALE_STEP_COLUMNS,
  scaleLegend,
  scaleStepCells,
  scaleSummary,
} from './report.js';
import type { ScaleStep } from './suites/scale.js';

/** One line of a chart: a contender and its (x, y) points. */
export interface Series {
  name: string;
  points: [x: number, y: number][];
}

const COLORS: Record<string, string> = {
  Corbel: '#d6336c',
  'Corbel, source under tsx': '#f783ac',
  'stock tRPC 11': '#1c7ed6',
  'oRPC 1': '#7048e8',
  'raw node:http': '#2b8a3e',
  'raw + tRPC call': '#94d82d',
  'Socket.IO 4': '#f59f00',
  'weather station': '#d6336c',
  'raw node SSE': '#2b8a3e',
  SSE: '#d6336c',
  'long poll': '#1c7ed6',
};
const PALETTE = ['#495057', '#0ca678', '#e8590c', '#5c7cfa'];

const W = 560;
const H = 300;
const PAD = { left: 72, right: 16, top: 32, bottom: 44 };

/** Escapes text for HTML and SVG content and attributes. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function color(name: string, i: number): string {
  return COLORS[name] ?? PALETTE[i % PALETTE.length]!;
}

/** A short label for an axis value: 1.2k, 35, 0.45. */
function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 10 || a === 0) return `${Math.round(v)}`;
  return `${+v.toFixed(2)}`;
}

/** A ceiling that makes round tick marks. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * A line chart of y against x (N unless `xLabel` says otherwise) for several
 * series, x on a log scale when it spans more than a decade; each point a
 * `<circle class="point">`.
 *
 * @example
 * lineChart('delivered/s', 'events/s', [{ name: 'Corbel', points: [[100, 5e4], [1000, 1.2e5]] }]);
 */
export function lineChart(
  title: string,
  yLabel: string,
  series: Series[],
  xLabel: { axis: string; short: string } = { axis: 'subscribers (N)', short: 'N' },
): string {
  const finite = series.map((s) => ({
    ...s,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  }));
  const xs = [...new Set(finite.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
  const ys = finite.flatMap((s) => s.points.map(([, y]) => y));
  const yMax = niceMax(Math.max(0, ...ys));
  const log = xs.length > 1 && xs[0]! > 0 && xs[xs.length - 1]! / xs[0]! >= 10;
  const x0 = xs[0] ?? 0;
  const x1 = xs[xs.length - 1] ?? 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const px = (x: number) => {
    if (xs.length <= 1) return PAD.left + plotW / 2;
    const t = log ? Math.log(x / x0) / Math.log(x1 / x0) : (x - x0) / (x1 - x0);
    return PAD.left + 12 + t * (plotW - 24);
  };
  const py = (y: number) => PAD.top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = py(v).toFixed(1);
    parts.push(
      `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}"/>`,
      `<text class="tick" x="${PAD.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${short(v)}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text class="tick" x="${px(x).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${short(x)}</text>`,
    );
  }
  parts.push(
    `<text class="axis" x="${PAD.left + plotW / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel.axis)}${log ? ', log scale' : ''}</text>`,
    `<text class="axis" transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  finite.forEach((s, i) => {
    const c = color(s.name, i);
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      const d = pts.map(([x, y], k) => `${k ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
      parts.push(`<path class="line" d="${d}" stroke="${c}"/>`);
    }
    for (const [x, y] of pts) {
      parts.push(
        `<circle class="point" cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="4" fill="${c}" data-series="${esc(s.name)}" data-x="${x}" data-y="${y}"><title>${esc(s.name)}, ${esc(xLabel.short)}=${x}: ${esc(short(y))}</title></circle>`,
      );
    }
  });
  return figure(
    title,
    parts.join(''),
    finite.map((s) => s.name),
  );
}

/**
 * A horizontal bar chart, one `<rect class="bar">` per contender.
 *
 * @example
 * barChart('commands req/s', 'req/s', [['Corbel', 5000], ['raw node:http', 11000]]);
 */
export function barChart(title: string, unit: string, bars: [name: string, value: number][]): string {
  const shown = bars.filter(([, v]) => Number.isFinite(v));
  const rowH = 26;
  const height = PAD.top + shown.length * rowH + 28;
  const left = 170;
  const plotW = W - left - 70;
  const max = niceMax(Math.max(0, ...shown.map(([, v]) => v)));
  const parts: string[] = [];
  shown.forEach(([name, v], i) => {
    const y = PAD.top + i * rowH;
    const w = Math.max(1, (v / max) * plotW);
    parts.push(
      `<text class="label" x="${left - 8}" y="${y + rowH / 2}" text-anchor="end" dominant-baseline="middle">${esc(name)}</text>`,
      `<rect class="bar" x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color(name, i)}" data-series="${esc(name)}" data-y="${v}"><title>${esc(name)}: ${esc(short(v))} ${esc(unit)}</title></rect>`,
      `<text class="value" x="${left + w + 6}" y="${y + rowH / 2}" dominant-baseline="middle">${esc(short(v))}</text>`,
    );
  });
  parts.push(
    `<text class="axis" x="${left + plotW / 2}" y="${height - 8}" text-anchor="middle">${esc(unit)}</text>`,
  );
  return figure(title, parts.join(''), [], height);
}

function figure(title: string, body: string, legend: string[], height = H): string {
  const items = legend
    .map((name, i) => `<span class="key"><i style="background:${color(name, i)}"></i>${esc(name)}</span>`)
    .join('');
  return `<figure class="chart"><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${esc(title)}">${body}</svg>${items ? `<div class="legend">${items}</div>` : ''}</figure>`;
}

function htmlTable(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const num = fmt;

/** The per-contender series of one fan-out figure against N. */
function fanoutSeries(report: BenchReport, pick: (s: Record<string, number>) => number): Series[] {
  const f = report.fanout?.median ?? {};
  const sizes = Object.keys(f)
    .map(Number)
    .sort((a, b) => a - b);
  const contenders = [...new Set(sizes.flatMap((n) => Object.keys(f[n] ?? {})))];
  return contenders.map((k) => ({
    name: CONTENDER_NAMES[k] ?? k,
    points: sizes
      .filter((n) => (f[n] as any)?.[k])
      .map((n) => [n, pick((f[n] as any)[k])] as [number, number]),
  }));
}

/**
 * The whole report as one HTML document.
 *
 * @example
 * writeFileSync('report.html', renderHtmlReport(report));
 */
export function renderHtmlReport(report: BenchReport): string {
  const sections: string[] = [];
  if (report.fanout) {
    sections.push(
      '<section id="fanout"><h2>Fan-out</h2><p>~200-byte superjson events; subscribers in another process. delivered/s with the publisher at saturation; p99 publish→receive at a fixed rate; RSS one more idle subscriber costs.</p><div class="charts">',
      lineChart(
        'delivered events/s against N',
        'events/s',
        fanoutSeries(report, (s) => s.deliveredPerSec!),
      ),
      lineChart(
        'p99 latency against N',
        'ms',
        fanoutSeries(report, (s) => s.p99Ms!),
      ),
      lineChart(
        'RSS per idle subscriber against N',
        'KB',
        fanoutSeries(report, (s) => s.rssKbPerSubscriber!),
      ),
      '</div>',
      htmlTable(
        [
          'N',
          'server',
          'delivered/s',
          'p50 ms',
          'p99 ms',
          'hand-off p99 ms',
          'RSS KB/sub',
          'CPU µs/delivery',
        ],
        Object.entries(report.fanout.median).flatMap(([n, byKind]) =>
          Object.entries(byKind).map(([k, m]) => [
            num(Number(n)),
            CONTENDER_NAMES[k] ?? k,
            num(m.deliveredPerSec),
            num(m.p50Ms, 1),
            num(m.p99Ms, 1),
            num(m.handoffP99Ms, 1),
            num(m.rssKbPerSubscriber, 1),
            num(m.cpuUsPerDelivery, 2),
          ]),
        ),
      ),
      '</section>',
    );
  }
  const c = report.commands?.median as Record<string, Record<string, number>> | undefined;
  if (c) {
    const keys = Object.keys(c).filter((k) => c[k]);
    const bars = (field: string) =>
      keys.map((k) => [CONTENDER_NAMES[k] ?? k, c[k]![field]!] as [string, number]);
    sections.push(
      '<section id="commands"><h2>Commands</h2><p>zod-validated <code>add</code> mutation, keep-alive connections, each framework on its own wire.</p><div class="charts">',
      barChart('commands req/s', 'req/s', bars('rps')),
      barChart('commands p99 latency', 'ms', bars('p99Ms')),
      '</div>',
      htmlTable(
        ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/call', 'Corbel ÷ it, req/s'],
        keys.map((k) => [
          CONTENDER_NAMES[k] ?? k,
          num(c[k]!.rps),
          num(c[k]!.p50Ms, 2),
          num(c[k]!.p99Ms, 2),
          num(c[k]!.cpuUsPerCall, 1),
          k === 'corbel' || !c.corbel ? '' : `${num(c.corbel.rps! / c[k]!.rps!, 2)}×`,
        ]),
      ),
      '</section>',
    );
  }
  const scale = [report.scale, report.scaleRaw].filter((s) => s !== undefined);
  if (scale.length) {
    const name = (k: string) => (k === 'station' ? 'weather station' : 'raw node SSE');
    const perRate = { axis: 'readings/s asked', short: 'asked' };
    const series = (y: (st: ScaleStep) => number) =>
      scale.map((s) => ({
        name: name(s.contender),
        points: (s.steps ?? []).map((st) => [st.perSec, y(st)] as [number, number]),
      }));
    sections.push(
      `<section id="scale"><h2>Scale: ${num(scale[0]!.subscribers)} subscribers, ${num(scale[0]!.perSec)} readings/s, then lower rates</h2>`,
      report.scale && report.scaleRaw
        ? `<p class="verdict">${esc(scaleSummary(report.scale, report.scaleRaw))}</p>`
        : '',
      '<div class="charts">',
      lineChart(
        'scale readings/s taken against asked',
        'readings/s published',
        series((st) => st.sustainedPerSec),
        perRate,
      ),
      lineChart(
        'scale p99 latency against readings/s',
        'ms',
        series((st) => st.p99Ms),
        perRate,
      ),
      '</div>',
      htmlTable(
        ['server', 'connected', 'connect s', 'RSS KB/sub', 'server RSS MB', 'streams ended'],
        scale.map((s) => [
          name(s.contender),
          num(s.connected),
          num(s.connectMs / 1000, 1),
          num(s.rssKbPerSubscriber, 1),
          num(s.serverRssMb),
          num(s.dropped),
        ]),
      ),
      htmlTable(SCALE_STEP_COLUMNS, scaleStepCells(scale)),
      `<p class="meta">${esc(scaleLegend(report.machine.cpus))}</p>`,
      '</section>',
    );
  }
  const lp = report.longPoll;
  if (lp?.rows.length) {
    sections.push(
      `<section id="long-poll"><h2>Long polling beside SSE</h2><div class="charts">`,
      barChart(
        'delivered events/s',
        'events/s',
        lp.rows.map((r) => [r.transport === 'sse' ? 'SSE' : 'long poll', r.deliveredPerSec]),
      ),
      barChart(
        'p99 latency',
        'ms',
        lp.rows.map((r) => [r.transport === 'sse' ? 'SSE' : 'long poll', r.p99Ms]),
      ),
      '</div>',
      htmlTable(
        ['transport', 'N', 'events/s published', 'delivered/s', 'p50 ms', 'p99 ms'],
        lp.rows.map((r) => [
          r.transport,
          num(r.subscribers),
          num(r.perSec),
          num(r.deliveredPerSec),
          num(r.p50Ms, 1),
          num(r.p99Ms, 1),
        ]),
      ),
      '</section>',
    );
  }
  if (report.targets.length) {
    sections.push(
      '<section id="targets"><h2>Targets</h2>',
      htmlTable(
        ['target', 'goal', 'this run', 'met'],
        report.targets.map((t) => [t.name, t.goal, t.actual, t.met ? 'yes' : 'NO']),
      ),
      '</section>',
    );
  }
  const m = report.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Corbel bench — ${esc(report.mode)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#212529;max-width:1220px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}
.meta{color:#495057}.charts{display:flex;flex-wrap:wrap;gap:16px}
figure.chart{margin:0;border:1px solid #dee2e6;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
svg .grid{stroke:#e9ecef}svg .tick,svg .label,svg .value{font-size:11px;fill:#495057}
svg .axis{font-size:12px;fill:#212529}svg .line{fill:none;stroke-width:2}
.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:12px}.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
table{border-collapse:collapse;margin-top:10px}th,td{border:1px solid #dee2e6;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
</style></head>
<body>
<h1>Corbel bench</h1>
<p class="meta">${esc(report.mode)} mode, median of ${report.reps} run${report.reps > 1 ? 's' : ''}; started ${esc(report.startedAt)}; node ${esc(m.node)}, ${m.cpus} CPUs, load ${m.loadAverage.map((l) => l.toFixed(1)).join(' ')}. Corbel measured as built (packages/*/dist).</p>
${sections.join('\n')}
</body></html>
`;
}
