/**
 * The weather page in a real browser: Debian's Chromium driven by
 * playwright-core, against real station processes.
 *
 * Without Chromium the suite fails under CI=true and otherwise says loudly
 * that it did not run.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCorbelClient } from '@corbel/client';
import { freePort, type StartedProcess } from '@corbel/testing';
import type { TRPCClientError } from '@trpc/client';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../src/router.js';
import { startStation } from '../src/station-server.js';
import { spawnStation } from './station-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const _stationScript = join(repoRoot, 'apps/weather/src/station.ts');
const resultsDir = join(repoRoot, 'test-results');
const WAIT = { timeout: 20_000 };

if (!haveChromium) {
  const banner = `\n${'!'.repeat(72)}\n!! weather browser tests DID NOT RUN: no Chromium at ${CHROMIUM}\n!! install it (apt-get install chromium) or set CHROMIUM_PATH\n${'!'.repeat(72)}\n`;
  process.stderr.write(banner);
  describe('weather page in Chromium', () => {
    // Under CI a missing browser is a failure, never a silent skip.
    it.runIf(process.env.CI === 'true')('needs Chromium', () => {
      throw new Error(`Chromium is required under CI=true but ${CHROMIUM} does not exist`);
    });
    it.skipIf(process.env.CI === 'true')('SKIPPED: Chromium is not installed', () => {});
  });
}

/** A port that was free a moment ago, so a restarted station can take it again. */
function station(port: number, dataDir: string, extra: string[] = []): Promise<StartedProcess> {
  return spawnStation(['--port', String(port), '--data', dataDir, ...extra]);
}

async function launch(): Promise<{ context: BrowserContext; dispose: () => Promise<void> }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'corbel-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    dispose: async () => {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const stateOf = (page: Page) => page.locator('#connection').getAttribute('data-state');
const waitLive = (page: Page) =>
  page.waitForSelector('#connection[data-state="live"], #connection[data-state="resynced"]', WAIT);
const waitReading = (page: Page, id: string) =>
  explain(page, page.waitForSelector(`#readings li[data-id="${id}"]`, WAIT));

/** On failure, say what the page showed: its connection badge and what it listed. */
async function explain<T>(page: Page, waiting: Promise<T>): Promise<T> {
  try {
    return await waiting;
  } catch (error) {
    const state = await page.evaluate(() => {
      const c = document.getElementById('connection')!;
      const ids = [...document.querySelectorAll('#readings li')].map((li) => (li as HTMLElement).dataset.id);
      const latest = [...document.querySelectorAll('#latest tbody tr')].map((tr) => tr.textContent);
      return `badge=${c.dataset.state} (${c.title}) readings=${ids.join(',')} latest=${latest.join(' | ')}`;
    });
    throw new Error(`${(error as Error).message}\npage: ${state}`);
  }
}

describe.runIf(haveChromium)('weather page in Chromium', { timeout: 120_000 }, () => {
  let browser: Awaited<ReturnType<typeof launch>>;
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'corbel-weather-web-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['sqlite', 'resume by id'],
    ['memory', 'history gone → resynced'],
  ] as const)(
    'two pages share readings, show a Node client’s, survive a station restart (%s store: %s), and show validation errors',
    async (store, _what) => {
      const port = await freePort();
      const dataDir = tempDir();
      let proc: StartedProcess | undefined = await station(port, dataDir, ['--store', store]);
      try {
        const url = proc.ready;
        const node = createCorbelClient<WeatherRouter>({ url });
        const { context } = browser;
        const a = await context.newPage();
        const b = await context.newPage();
        const consoleErrors: string[] = [];
        for (const page of [a, b]) {
          page.on('pageerror', (e) => consoleErrors.push(e.message));
          // A Content-Security-Policy violation is reported as a console error.
          page.on('console', (m) => {
            if (m.type() === 'error' && /Content Security Policy/i.test(m.text()))
              consoleErrors.push(m.text());
          });
          await page.goto(url);
          await waitLive(page);
        }

        // A reading reported in page A appears in page B (and in A).
        await a.fill('#city', 'Oslo');
        await a.fill('#celsius', '-3.5');
        await a.click('#report-form button[type=submit]');
        const reported = await a.waitForSelector('#report-status:has-text("reported #")', WAIT);
        const idFromPage = (await reported.textContent())!.replace(/^reported #/, '').trim();
        for (const page of [a, b]) {
          const li = await waitReading(page, idFromPage);
          expect(await li.getAttribute('data-city')).toBe('Oslo');
          expect(await li.getAttribute('data-celsius')).toBe('-3.5');
        }

        // A reading reported by a Node client (another process's view) appears in both.
        const fromNode = await node.weather.report.mutate({ city: 'Lagos', celsius: 31.25 });
        for (const page of [a, b]) await waitReading(page, fromNode.id);
        expect(await b.locator('#latest tr[data-city="Lagos"]').getAttribute('data-celsius')).toBe('31.25');

        // A bad temperature shows the server's own message next to the field.
        const serverMessage = await node.weather.report.mutate({ city: 'Oslo', celsius: 500 }).then(
          () => 'accepted?!',
          (e: unknown) => (e as TRPCClientError<WeatherRouter>).data?.issues?.[0]?.message ?? 'no issue',
        );
        expect(serverMessage).toMatch(/100/);
        await b.fill('#city', 'Oslo');
        await b.fill('#celsius', '500');
        await b.click('#report-form button[type=submit]');
        await b.waitForSelector('#celsius-error:not(:empty)', WAIT);
        expect(await b.textContent('#celsius-error')).toBe(serverMessage);
        expect(await b.getAttribute('#celsius', 'aria-invalid')).toBe('true');
        expect(await b.textContent('#city-error')).toBe('');

        // Restart the station (a real process, the same port) while the pages are
        // offline, report while they are away, then let them come back.
        await context.setOffline(true);
        await proc.stop();
        proc = undefined;
        proc = await station(port, dataDir, ['--store', store]);
        const durable = (await node.weather.latest.query({ city: 'Lagos' })) !== null;
        expect(durable).toBe(store === 'sqlite');
        const whileDown = [
          await node.weather.report.mutate({ city: 'Oslo', celsius: -4.25 }),
          await node.weather.report.mutate({ city: 'Quito', celsius: 14.5 }),
        ];
        await context.setOffline(false);
        for (const page of [a, b]) {
          await waitLive(page);
          await explain(
            page,
            page.waitForSelector('#latest tr[data-city="Oslo"][data-celsius="-4.25"]', WAIT),
          );
          if (durable) {
            // The store kept its history: the pages resumed by id and missed nothing.
            for (const r of whileDown) await waitReading(page, r.id);
            expect(await stateOf(page)).toBe('live');
          } else {
            // A memory log restarted: the page must say so, never lose silently.
            expect(await stateOf(page)).toBe('resynced');
            expect(await page.textContent('#connection')).toContain('history gone → resynced');
          }
        }

        // Both pages follow the live stream again.
        const after = await node.weather.report.mutate({ city: 'Boston', celsius: 2 });
        for (const page of [a, b]) await waitReading(page, after.id);

        mkdirSync(resultsDir, { recursive: true });
        await b.setViewportSize({ width: 900, height: 900 });
        const shot = store === 'sqlite' ? 'weather-page.png' : 'weather-page-resynced.png';
        await b.screenshot({ path: join(resultsDir, shot), fullPage: true });
        expect(consoleErrors).toEqual([]);
        await a.close();
        await b.close();
      } finally {
        await proc?.stop();
      }
    },
  );

  it('with --token, trades the token for an HttpOnly cookie and never puts it in a URL', async () => {
    const token = 's3cret-token-for-the-page';
    await using proc = await station(0, tempDir(), ['--token', token]);
    const url = proc.ready;
    const page = await browser.context.newPage();
    const urls: string[] = [];
    page.on('request', (req) => urls.push(req.url()));

    await page.goto(url);
    await page.waitForSelector('#connection[data-state="locked"]', WAIT);
    expect(await page.isVisible('#token-form')).toBe(true);

    await page.fill('#token', 'wrong');
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#token-error:has-text("wrong token")', WAIT);

    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await waitLive(page);
    const cookie = (await browser.context.cookies(url)).find((c) => c.name === 'corbel_weather_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('corbel_weather_session');

    const node = createCorbelClient<WeatherRouter>({ url, token });
    const { id } = await node.weather.report.mutate({ city: 'Oslo', celsius: 1 });
    await waitReading(page, id);
    await page.fill('#city', 'Bergen');
    await page.fill('#celsius', '7');
    await page.click('#report-form button[type=submit]');
    await page.waitForSelector('#readings li[data-city="Bergen"]', WAIT);

    expect(urls.length).toBeGreaterThan(3);
    for (const u of urls) expect(u).not.toContain(token);
    // Without the cookie or the header, the station still refuses.
    const open = await fetch(
      `${url}/rpc/weather.latest?input=${encodeURIComponent('{"json":{"city":"Oslo"}}')}`,
    );
    expect(open.status).toBe(401);
    await page.close();
  });
});

// Needs no browser: what the station sends with the page.
describe('weather page over HTTP', () => {
  it('serves the page and its hashed assets with content type, cache headers and a strict CSP', async () => {
    await using station = await startStation();
    const page = await fetch(`${station.url}/`, { headers: { 'accept-encoding': 'identity' } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).not.toMatch(/https?:\/\//); // no CDN, nothing off-origin
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    let bytes = Buffer.byteLength(html);
    for (const path of assets) {
      const res = await fetch(`${station.url}${path}`, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(
        path.endsWith('.js') ? /^text\/javascript/ : /^text\/css/,
      );
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      bytes += (await res.arrayBuffer()).byteLength;
      const again = await fetch(`${station.url}${path}`, {
        headers: { 'if-none-match': res.headers.get('etag')! },
      });
      expect(again.status).toBe(304);
    }
    // The whole page (html + js + css), uncompressed; README states the figure.
    expect(bytes).toBeLessThan(80_000);
    process.stderr.write(`weather page: ${bytes} bytes (html + js + css, uncompressed)\n`);
    const gz = await fetch(`${station.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    const session = await fetch(`${station.url}/session`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(session.status).toBe(404); // no token, no sessions
  });

  it('with a token, /session refuses cross-origin and non-JSON requests and a wrong token', async () => {
    await using station = await startStation({ token: 'page-secret' });
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${station.url}/session`, { method: 'POST', body, headers });
    expect(
      (await post('token=page-secret', { 'content-type': 'application/x-www-form-urlencoded' })).status,
    ).toBe(415);
    expect(
      (
        await post('{"token":"page-secret"}', {
          'content-type': 'application/json',
          origin: 'http://evil.example',
        })
      ).status,
    ).toBe(403);
    expect((await post('{"token":"nope"}', { 'content-type': 'application/json' })).status).toBe(401);
    const ok = await post('{"token":"page-secret"}', { 'content-type': 'application/json' });
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    const latest = `${station.url}/rpc/weather.latest?input=${encodeURIComponent('{"json":{"city":"Oslo"}}')}`;
    expect((await fetch(latest, { headers: { cookie: pair } })).status).toBe(200);
    expect((await fetch(latest, { headers: { cookie: pair, origin: 'http://evil.example' } })).status).toBe(
      401,
    );
    const forged = pair.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await fetch(latest, { headers: { cookie: forged } })).status).toBe(401);
  });
});
