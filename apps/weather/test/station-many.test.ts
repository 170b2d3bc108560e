import { type ClientRequest, request } from 'node:http';
import { mutationBody, queryInput, rawRequest } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationProcess, startStationProcess } from './station-process.js';

// Many subscribers from one address: every local client of an open station is
// the same identity, so per-identity limits must not cap the station below
// what it is built to hold (10,000 subscribers; `npm run bench -- --only scale`).
const SUBSCRIBERS = 1500;

let station: StationProcess;
const open: ClientRequest[] = [];

beforeAll(async () => {
  station = await startStationProcess();
});
afterAll(async () => {
  for (const req of open) req.destroy();
  await station?.[Symbol.asyncDispose]();
});

/** Opens one raw SSE subscription; resolves with its status once the head arrives, and counts frames naming `city`. */
function subscribe(url: string, city: string, seen: { count: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      resolve(res.statusCode ?? 0);
      let counted = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (!counted && chunk.includes(city)) {
          counted = true;
          seen.count++;
        }
      });
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
    open.push(req);
  });
}

describe('an open station on loopback', () => {
  it(`holds ${SUBSCRIBERS} subscribers from one address and delivers to every one`, {
    timeout: 120_000,
  }, async () => {
    const rpc = `${station.url}/rpc`;
    const url = `${rpc}/weather.readings?${queryInput({ city: 'Manyville' })}`;
    const seen = { count: 0 };
    const statuses: number[] = [];
    // In waves, as a fleet of boards would connect.
    for (let i = 0; i < SUBSCRIBERS; i += 250) {
      const wave = Array.from({ length: Math.min(250, SUBSCRIBERS - i) }, () =>
        subscribe(url, 'Manyville', seen),
      );
      statuses.push(...(await Promise.all(wave)));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const report = await rawRequest(`${rpc}/weather.report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: mutationBody({ city: 'Manyville', celsius: 21 }),
    });
    expect(report.status).toBe(200);
    const deadline = Date.now() + 30_000;
    while (seen.count < SUBSCRIBERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.count).toBe(SUBSCRIBERS);
    // And it still answers commands while holding them all.
    expect((await rawRequest(`${rpc}/weather.latest?${queryInput({ city: 'Manyville' })}`)).status).toBe(200);
  });
});
