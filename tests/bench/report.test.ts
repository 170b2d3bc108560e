/**
 * The bench's HTML report in a real browser: a report rendered from fixed
 * sample rows, opened from a file in Debian's Chromium (playwright-core),
 * must draw every chart with a point or bar per contender and value, log no
 * console error and ask the network for nothing.
 *
 * Without Chromium the suite fails under CI=true and otherwise says loudly
 * that it did not run.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../apps/bench/src/html-report.js';
import { type BenchReport, judgeTargets, renderReport } from '../../apps/bench/src/report.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);

const command = (rps: number, p99Ms: number) => ({
  rps,
  p50Ms: p99Ms / 2,
  p99Ms,
  cpuUsPerCall: 1e6 / rps / 2,
  errors: 0,
});
const fan = (deliveredPerSec: number, p99Ms: number, rssKbPerSubscriber: number, n: number) => ({
  connected: n,
  deliveredPerSec,
  cpuUsPerDelivery: 10,
  latencyRate: 100,
  p50Ms: p99Ms / 2,
  p99Ms,
  missing: 0,
  rssKbPerSubscriber,
  rssKbPerSubscriberFromEmpty: rssKbPerSubscriber * 1.2,
  heapKbPerSubscriber: rssKbPerSubscriber / 2,
  dropped: 0,
});
const SIZES = [100, 1000, 5000] as const;
/** One rate step: `published` of `perSec` × 10 offered, every one delivered to all 19,000 when held. */
const step = (perSec: number, published: number, p99Ms: number, cpuUsPerDelivery: number) => {
  const offered = perSec * 10;
  const reached = published >= 0.95 * offered;
  return {
    perSec,
    offered,
    published,
    publishMeanMs: 500,
    publishMaxMs: 600,
    sustainedPerSec: published / 10,
    reached,
    expected: published * 19_000,
    received: published * 19_000,
    minPerSubscriber: published,
    p50Ms: p99Ms / 3,
    p99Ms,
    maxMs: p99Ms * 1.5,
    serverCpuPct: 95,
    clientCpuPct: 80,
    cpuUsPerDelivery,
    oneCorePerSec: 1e6 / (cpuUsPerDelivery * 19_000),
  };
};
/**
 * The scale check as a 2-core machine shows it: neither server holds 10
 * readings/s for 19,000 subscribers; the station holds 2/s, raw SSE only 1/s.
 */
const scale = (contender: 'station' | 'raw', p99Ms: number) => {
  const steps =
    contender === 'station'
      ? [10, 5, 2, 1].map((perSec, i) => step(perSec, [20, 19, 20, 10][i]!, p99Ms * [8, 6, 2, 1][i]!, 25))
      : [10, 5, 2, 1].map((perSec, i) => step(perSec, [16, 17, 17, 10][i]!, p99Ms * [9, 7, 5, 1][i]!, 30));
  const first = steps[0]!;
  return {
    contender,
    subscribers: 19_000,
    connected: 19_000,
    connectMs: 20_000,
    perSec: 10,
    durationMs: 10_000,
    steps,
    published: first.published,
    expected: first.expected,
    received: first.received,
    allDelivered: true,
    p50Ms: first.p50Ms,
    p99Ms: first.p99Ms,
    maxMs: first.maxMs,
    rssKbPerSubscriber: 12,
    serverRssMb: 300,
    cpuUsPerDelivery: 5,
    dropped: 0,
  };
};

/** A full report from fixed figures: four fan-out contenders at three sizes, six command contenders. */
function sampleReport(): BenchReport {
  const fanout: Record<number, any> = {};
  for (const n of SIZES) {
    fanout[n] = {
      corbel: fan(120_000 - n, 20 + n / 200, 12 + n / 1000, n),
      trpc: fan(30_000 - n, 60 + n / 100, 40, n),
      raw: fan(45_000 - n, 25 + n / 200, 12, n),
      socketio: fan(47_000 - n, 30 + n / 150, 20, n),
    };
  }
  return {
    mode: 'full',
    reps: 3,
    startedAt: '2026-11-30T06:00:00.000Z',
    finishedAt: '2026-11-30T06:20:00.000Z',
    machine: { node: 'v20.20.2', cpus: 2, loadAverage: [1, 1, 1] },
    commands: {
      median: {
        corbel: command(5_000, 22),
        'corbel-tsx': command(4_900, 20),
        trpc: command(1_600, 62),
        orpc: command(4_800, 22),
        raw: command(11_000, 10),
        floor: command(7_300, 16),
      },
      runs: [],
    },
    fanout: { median: fanout, runs: [] },
    scale: scale('station', 40),
    scaleRaw: scale('raw', 35),
    longPoll: {
      rows: [
        {
          transport: 'sse',
          subscribers: 1000,
          perSec: 50,
          published: 500,
          expected: 500_000,
          delivered: 500_000,
          missing: 0,
          deliveredPerSec: 50_000,
          p50Ms: 3,
          p99Ms: 20,
          clientErrors: 0,
        },
        {
          transport: 'long-poll',
          subscribers: 1000,
          perSec: 50,
          published: 500,
          expected: 500_000,
          delivered: 500_000,
          missing: 0,
          deliveredPerSec: 49_000,
          p50Ms: 9,
          p99Ms: 80,
          clientErrors: 0,
        },
      ],
    },
    targets: [{ name: 'commands req/s', goal: '≥ 1.0 × oRPC', actual: '1.04×', met: true }],
  };
}

if (!haveChromium) {
  process.stderr.write(
    `\n${'!'.repeat(72)}\n!! bench report browser test DID NOT RUN: no Chromium at ${CHROMIUM}\n!! install it (apt-get install chromium) or set CHROMIUM_PATH\n${'!'.repeat(72)}\n`,
  );
}

describe('the bench HTML report', () => {
  it('is one self-contained file: no script, stylesheet or image from elsewhere', () => {
    const html = renderHtmlReport(sampleReport());
    expect(html).not.toMatch(/<script[^>]*\bsrc=|<link[^>]*\bhref=|<img\b|@import|url\(/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('says when the scale check missed its rate, with the figures, and compares p99 at the highest rate both held', () => {
    const r = sampleReport();
    const text = renderReport({ ...r, targets: judgeTargets(r) });
    expect(text).toContain(
      '10/s NOT held by either server on this machine: weather station took 20 of 100 (2/s), raw node:http took 16 of 100 (1.6/s).',
    );
    expect(text).toContain(
      'Highest rate held: weather station 2/s (one core would take 2.1/s), raw node:http 1/s (one core would take 1.8/s).',
    );
    expect(text).toContain('At 1/s, the highest both held: p99 40.0 ms vs 35.0 ms, 1.14× raw.');
    const targets = judgeTargets(r);
    const atTarget = targets.find((t) => t.name === 'scale p99 at 10 readings/s')!;
    expect(atTarget.met).toBe(false);
    expect(atTarget.actual).toContain('rate NOT held');
    const fallback = targets.find((t) => t.name === 'scale p99 at 1 readings/s (highest rate both held)')!;
    expect(fallback).toMatchObject({ met: true, actual: '1.14× (40.0 vs 35.0 ms)' });
    const html = renderHtmlReport(r);
    expect(html).toContain('10/s NOT held by either server');
  });

  it('escapes names it shows', () => {
    const r = sampleReport();
    r.targets = [{ name: '<b>x</b>', goal: 'a & b', actual: '"1"', met: false }];
    const html = renderHtmlReport(r);
    expect(html).toContain('&#60;b&#62;x&#60;/b&#62;');
    expect(html).not.toContain('<b>x</b>');
  });

  if (!haveChromium) {
    // Under CI a missing browser is a failure, never a silent skip.
    it.runIf(process.env.CI === 'true')('needs Chromium', () => {
      throw new Error(`Chromium is required under CI=true but ${CHROMIUM} does not exist`);
    });
    it.skipIf(process.env.CI === 'true')('SKIPPED: Chromium is not installed', () => {});
  }

  it.runIf(haveChromium)(
    'renders every chart in Chromium with its data points',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'corbel-bench-report-'));
      const file = join(dir, 'report.html');
      writeFileSync(file, renderHtmlReport(sampleReport()));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('request', (r) => {
          if (!r.url().startsWith('file:')) problems.push(`network: ${r.url()}`);
        });
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

        const charts = await page.$$eval('figure.chart', (figures) =>
          figures.map((f) => {
            const svg = f.querySelector('svg')!;
            const box = svg.getBoundingClientRect();
            return {
              title: f.querySelector('figcaption')?.textContent ?? '',
              width: box.width,
              height: box.height,
              points: [...svg.querySelectorAll('circle.point')].map((c) => ({
                series: c.getAttribute('data-series'),
                x: Number(c.getAttribute('data-x')),
                y: Number(c.getAttribute('data-y')),
                cy: Number(c.getAttribute('cy')),
              })),
              lines: svg.querySelectorAll('path.line').length,
              bars: [...svg.querySelectorAll('rect.bar')].map((b) => ({
                series: b.getAttribute('data-series'),
                width: b.getBoundingClientRect().width,
              })),
            };
          }),
        );
        const chart = (title: string) => {
          const c = charts.find((x) => x.title === title);
          if (!c) throw new Error(`no chart "${title}" among ${charts.map((x) => x.title).join(', ')}`);
          expect(c.width, title).toBeGreaterThan(100);
          expect(c.height, title).toBeGreaterThan(100);
          return c;
        };

        for (const title of [
          'delivered events/s against N',
          'p99 latency against N',
          'RSS per idle subscriber against N',
        ]) {
          const c = chart(title);
          // One point per contender and N, one line per contender.
          expect(c.points, title).toHaveLength(4 * SIZES.length);
          expect(c.lines, title).toBe(4);
          expect(new Set(c.points.map((p) => p.series))).toEqual(
            new Set(['Corbel', 'stock tRPC 11', 'raw node:http', 'Socket.IO 4']),
          );
          expect(new Set(c.points.map((p) => p.x))).toEqual(new Set(SIZES));
          for (const p of c.points) {
            expect(Number.isFinite(p.y) && p.y > 0, title).toBe(true);
            expect(p.cy, title).toBeGreaterThan(0);
          }
        }
        // A higher figure is drawn higher up (smaller cy).
        const delivered = chart('delivered events/s against N').points.filter((p) => p.x === 1000);
        const corbel = delivered.find((p) => p.series === 'Corbel')!;
        const trpc = delivered.find((p) => p.series === 'stock tRPC 11')!;
        expect(corbel.cy).toBeLessThan(trpc.cy);

        for (const title of ['commands req/s', 'commands p99 latency']) {
          const c = chart(title);
          expect(c.bars.map((b) => b.series)).toEqual([
            'Corbel',
            'Corbel, source under tsx',
            'stock tRPC 11',
            'oRPC 1',
            'raw node:http',
            'raw + tRPC call',
          ]);
          for (const b of c.bars) expect(b.width, `${title} ${b.series}`).toBeGreaterThan(0);
        }
        const rps = chart('commands req/s').bars;
        expect(rps.find((b) => b.series === 'raw node:http')!.width).toBeGreaterThan(
          rps.find((b) => b.series === 'stock tRPC 11')!.width,
        );
        expect(chart('delivered events/s').bars).toHaveLength(2);
        // The scale check: each server's rate steps, taken and p99 against asked.
        for (const title of [
          'scale readings/s taken against asked',
          'scale p99 latency against readings/s',
        ]) {
          const c = chart(title);
          expect(c.points, title).toHaveLength(8);
          expect(c.lines, title).toBe(2);
          expect(new Set(c.points.map((p) => p.x))).toEqual(new Set([10, 5, 2, 1]));
        }
        expect(await page.locator('#scale table').nth(1).locator('tbody tr').count()).toBe(8);
        expect(await page.locator('#fanout table tbody tr').count()).toBe(4 * SIZES.length);

        if (process.env.CORBEL_REPORT_SCREENSHOT) {
          await page.screenshot({ path: process.env.CORBEL_REPORT_SCREENSHOT, fullPage: true });
        }
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
