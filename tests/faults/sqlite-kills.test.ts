import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutationBody, openSse, queryInput, type StartedProcess, seededRandom } from '@corbel/testing';
import superjson from 'superjson';
import { afterAll, describe, expect, it } from 'vitest';
import { portOf, startStation } from '../durability/station-helpers.js';

/**
 * A SQLite station SIGKILLed at seeded random moments while publishers
 * report with Idempotency-Keys and retry each report with its key until it
 * is acknowledged (as Corbel's client does). Nothing acknowledged is lost,
 * and every report is stored exactly once, with the id it was acknowledged
 * with, including reports a kill cut off between storing the reading and
 * recording the answer (the reading and its publish key commit in one
 * transaction, so the retry gets the stored reading back; see
 * tests/regression/kill-between-append-and-record.test.ts). Without keys,
 * every report whose answer a kill cut off would be stored twice.
 *
 * CORBEL_FAULT_KILLS (default 6) and CORBEL_FAULT_SEED (default 1).
 */
const KILLS = Number(process.env.CORBEL_FAULT_KILLS ?? 6);
const SEED = Number(process.env.CORBEL_FAULT_SEED ?? 1);
const PUBLISHERS = 6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One attempt: the id, or null when the station did not answer 200. */
async function attempt(url: string, city: string, key: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/rpc/weather.report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: mutationBody({ city, celsius: 1 }),
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return null;
    }
    return (superjson.deserialize(((await res.json()) as any).result.data) as { id: string }).id;
  } catch {
    return null;
  }
}

describe('SIGKILLs of a SQLite station under keyed retries', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'corbel-kills-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(`${KILLS} kills (seed ${SEED}): nothing acknowledged lost, every report applied exactly once`, {
    timeout: 300_000,
  }, async () => {
    const random = seededRandom(SEED);
    let station: StartedProcess = await startStation(dataDir);
    const url = station.ready;
    const port = portOf(url);
    const acked = new Map<string, string>();
    /** Reports that needed more than one attempt (a kill cut one off). */
    const cutOff = new Set<string>();
    let retries = 0;
    let stop = false;
    try {
      const start = await attempt(url, 'start', randomUUID());
      expect(start).not.toBeNull();
      const publishers = Array.from({ length: PUBLISHERS }, async (_, p) => {
        for (let n = 0; !stop; n++) {
          const city = `p${p}-n${n}`;
          const key = randomUUID();
          // Bounded: 60 s of retries with one key, across restarts.
          for (let tries = 0; tries < 1200; tries++) {
            const id = await attempt(url, city, key);
            if (id !== null) {
              acked.set(city, id);
              break;
            }
            retries++;
            cutOff.add(city);
            await sleep(50);
          }
          if (!acked.has(city)) throw new Error(`${city} was never acknowledged`);
        }
      });
      for (let kill = 0; kill < KILLS; kill++) {
        await sleep(200 + random() * 800);
        station.child.kill('SIGKILL');
        await station.exited;
        station = await startStation(dataDir, port);
      }
      stop = true;
      await Promise.all(publishers);

      await using sse = await openSse(`${url}/rpc/weather.readings?${queryInput({})}`, {
        'last-event-id': start!,
      });
      const end = `end-${SEED}`;
      expect(await attempt(url, end, randomUUID())).not.toBeNull();
      const log: { id: string; city: string }[] = [];
      for (let i = 0; i < 100_000 && log.at(-1)?.city !== end; i++) {
        const frame = await sse.next(10_000);
        if (!frame) break;
        if (frame.event === 'message' && frame.id)
          log.push({ id: frame.id, city: (superjson.parse(frame.data) as { city: string }).city });
      }
      expect(log.at(-1)?.city).toBe(end);
      const counts = new Map<string, number>();
      for (const r of log) counts.set(r.city, (counts.get(r.city) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1).map(([c]) => c);
      const lost = [...acked.keys()].filter((c) => !counts.has(c));
      const wrongId = [...acked]
        .filter(([c, id]) => log.find((r) => r.city === c)?.id !== id)
        .map(([c]) => c);
      console.info(
        `sqlite kills (seed ${SEED}): ${KILLS} SIGKILLs, ${acked.size} reports acknowledged after ${retries} retries; ` +
          `${cutOff.size} cut off by a kill; lost ${lost.length}, twice ${twice.length} ` +
          `(${twice.filter((c) => cutOff.has(c)).length} of them cut off by a kill), ` +
          `acknowledged with the second run's id ${wrongId.length}`,
      );
      const replay = `(replay: CORBEL_FAULT_KILLS=${KILLS} CORBEL_FAULT_SEED=${SEED})`;
      expect(lost, `seed ${SEED}: lost ${replay}`).toEqual([]);
      // Every report is stored once, with the id it was acknowledged with, kill or not.
      expect(twice, `seed ${SEED}: applied twice ${replay}`).toEqual([]);
      expect(wrongId, `seed ${SEED}: acknowledged with another id ${replay}`).toEqual([]);
      expect(acked.size).toBeGreaterThan(KILLS);
    } finally {
      stop = true;
      await station.stop('SIGKILL');
    }
  });
});
