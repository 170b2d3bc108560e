import { type BenchChild, startChild } from '../child.js';
import type { BenchMode } from '../modes.js';
import type { LongPollRow } from '../report.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** N, publish rate and duration of the long-poll suite in each mode. */
export function longPollSettings(mode: BenchMode): { subscribers: number; rate: number; durationMs: number } {
  if (mode.name === 'smoke') return { subscribers: 20, rate: 20, durationMs: 1000 };
  if (mode.name === 'quick') return { subscribers: 1000, rate: 50, durationMs: 3000 };
  return { subscribers: 1000, rate: 50, durationMs: 10_000 };
}

/** Sums a status over the clients until every expected delivery arrived or `ms` passed. */
async function waitFor(client: BenchChild, target: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  for (;;) {
    const { received } = await client.call('status');
    if (received >= target || performance.now() > deadline) return received;
    await sleep(50);
  }
}

/**
 * One transport: a Corbel fan-out server (servers/fanout-server.ts, built
 * packages) publishing `rate` events a second to `subscribers` subscribers of
 * one transport in the subscriber process.
 */
async function runTransport(
  transport: LongPollRow['transport'],
  settings: ReturnType<typeof longPollSettings>,
  client: BenchChild,
): Promise<LongPollRow> {
  const { child: server, ready } = await startChild('./servers/fanout-server.ts', ['--kind', 'corbel']);
  try {
    const c = await client.call(
      'connect',
      {
        url: `${ready.url}${ready.path}`,
        n: settings.subscribers,
        kind: transport === 'sse' ? 'corbel' : 'long-poll',
      },
      180_000,
    );
    if (c.connected < settings.subscribers)
      throw new Error(`${transport}: ${c.connected} of ${settings.subscribers} connected (${c.firstError})`);
    // Let every long poll's second (waiting) request reach the server.
    await sleep(500);
    const before = (await client.call('status')).received;
    await client.call('measure', { on: true });
    await server.call('rate', { perSec: settings.rate });
    const started = performance.now();
    await sleep(settings.durationMs);
    const { published } = await server.call('stop');
    const elapsedMs = performance.now() - started;
    const expected = before + published * c.connected;
    const got = await waitFor(client, expected, 10_000);
    await client.call('measure', { on: false });
    const lat = await client.call('latency');
    return {
      transport,
      subscribers: c.connected,
      rate: settings.rate,
      published,
      delivered: got - before,
      deliveredPerSec: ((got - before) * 1000) / elapsedMs,
      p50Ms: lat.p50,
      p99Ms: lat.p99,
    };
  } finally {
    await client.call('close').catch(() => {});
    await server.stop();
  }
}

/**
 * Long polls beside SSE at the same N and publish rate (N = 1,000 at 50
 * events/s outside smoke mode): delivered events/s and p50/p99 publish→receive
 * latency, subscribers in another process, SSE first, then long polls.
 */
export async function runLongPoll(
  mode: BenchMode,
  progress: (line: string) => void,
): Promise<{ rows: LongPollRow[] }> {
  const settings = longPollSettings(mode);
  const { child: client } = await startChild('./clients/subscriber-client.ts', []);
  const rows: LongPollRow[] = [];
  try {
    for (const transport of ['sse', 'long-poll'] as const) {
      const row = await runTransport(transport, settings, client);
      rows.push(row);
      progress(
        `long-poll suite ${transport} N=${row.subscribers}: ${Math.round(row.deliveredPerSec)} delivered/s (${row.delivered}/${row.published * row.subscribers}), p50 ${row.p50Ms.toFixed(1)} ms, p99 ${row.p99Ms.toFixed(1)} ms at ${row.rate}/s`,
      );
    }
  } finally {
    await client.stop();
  }
  return { rows };
}
