import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SseConnection } from '@corbel/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openReadings, portOf, readingOf, report, startStation } from './station-helpers.js';

const KILLS = Number(process.env.CORBEL_CRASH_KILLS ?? 20);
const PUBLISHERS = 8;

interface Received {
  id: string;
  city: string;
}

/** Reads data frames off `sse` into `into` until the stream ends (the station died) or `until` holds. */
async function drain(sse: SseConnection, into: Received[], until?: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!until?.()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`stream did not deliver everything within ${timeoutMs} ms`);
    const frame = await sse.next(left).catch(() => null);
    if (!frame) return;
    if (frame.event === 'message' && frame.id) into.push({ id: frame.id, city: readingOf(frame.data).city });
  }
}

describe('SIGKILL crash test: acknowledged reports survive and are delivered once, in order', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'corbel-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(`survives ${KILLS} kills at random moments`, { timeout: 600_000 }, async () => {
    /** Acknowledged reports per publisher, in the order each was acknowledged. */
    const acked: string[][] = Array.from({ length: PUBLISHERS }, () => []);
    const ackedIds = new Map<string, string>();
    const received: Received[] = [];
    let port = 0;
    let counter = 0;
    let unacked = 0;

    for (let round = 0; round < KILLS; round++) {
      const station = await startStation(dataDir, port);
      try {
        const url = station.ready;
        port = portOf(url);
        // A subscriber that resumes from the last id it saw, like a board.
        const sse = await openReadings(url, received.at(-1)?.id);
        expect(sse.status).toBe(200);
        const reading = drain(sse, received);

        let killed = false;
        const publishers = acked.map(async (mine, p) => {
          while (!killed) {
            const city = `p${p}-r${round}-n${counter++}`;
            const id = await report(url, city, (counter % 200) - 100);
            if (id === null) {
              unacked++;
              return;
            }
            mine.push(city);
            ackedIds.set(city, id);
          }
        });
        // Let it publish for a random while, then pull the plug mid-burst.
        await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 800));
        killed = true;
        station.child.kill('SIGKILL');
        await station.exited;
        await Promise.all(publishers);
        await reading;
        sse.close();
      } finally {
        await station.stop('SIGKILL');
      }
    }

    // Final restart: resume once more and catch up with everything acknowledged.
    const station = await startStation(dataDir, port);
    try {
      const allAcked = new Set(acked.flat());
      const sse = await openReadings(station.ready, received.at(-1)?.id);
      expect(sse.status).toBe(200);
      await drain(sse, received, () => {
        const seen = new Set(received.map((r) => r.city));
        for (const city of allAcked) if (!seen.has(city)) return false;
        return true;
      });
      sse.close();
    } finally {
      await station.stop();
    }

    const total = acked.reduce((n, a) => n + a.length, 0);
    // None twice: ids and cities are unique across every reconnect.
    expect(new Set(received.map((r) => r.id)).size).toBe(received.length);
    expect(new Set(received.map((r) => r.city)).size).toBe(received.length);
    // In order: every id after the previous one (same epoch, growing sequence).
    const seqs = received.map((r) => Number(r.id.split('-')[1]));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    // Every acknowledged report arrived, with the id it was acknowledged with,
    // and each publisher's reports in the order they were acknowledged.
    const position = new Map(received.map((r, i) => [r.city, i]));
    for (const mine of acked) {
      let last = -1;
      for (const city of mine) {
        const at = position.get(city);
        expect(at, `acknowledged ${city} was never delivered`).toBeDefined();
        expect(received[at!]!.id).toBe(ackedIds.get(city));
        expect(at!).toBeGreaterThan(last);
        last = at!;
      }
    }
    console.info(
      `crash test: ${KILLS} SIGKILLs, ${total} acknowledged reports all delivered once in order; ` +
        `${received.length - total} committed-but-unacknowledged also delivered; ${unacked} reports cut off by a kill`,
    );
    expect(total).toBeGreaterThan(KILLS);
  });
});
