/**
 * Issue 19, gap 1: exactly-once did not survive a SIGKILL. A keyed mutation
 * stored its event, then recorded its answer; a station killed between the
 * two left an event and no record, so the retry ran the procedure again and
 * published the reading a second time (~1% of kills in
 * tests/faults/sqlite-kills.test.ts). Now the mutation's publishes carry
 * keys of the call, and the log stores each event and its key atomically
 * (one SQLite transaction, one Redis script): the retry gets the stored
 * event back, publishes nothing, and answers with the first id.
 *
 * The fixture server kills itself at the start of recording the answer,
 * so every run hits the window.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  mutationBody,
  rawRequest,
  requireRedisServer,
  resultData,
  type StartedProcess,
  startProcess,
  startRedisServer,
} from '@corbel/testing';
import { afterAll, describe, expect, it } from 'vitest';

const entry = new URL('./fixtures/kill-before-record-server.ts', import.meta.url).pathname;

function startServer(args: string[]): Promise<StartedProcess> {
  return startProcess(process.execPath, ['--conditions=@corbel/source', '--import', 'tsx', entry, ...args], {
    ready: /listening on (\S+)/,
    timeoutMs: 60_000,
  });
}

const report = (url: string, city: string, key: string) =>
  rawRequest(`${url}/rpc/report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: mutationBody({ city }),
  });

async function events(url: string): Promise<{ id: string; city: string }[]> {
  const res = await rawRequest(`${url}/rpc/events`);
  expect(res.status).toBe(200);
  return resultData(res.json);
}

/** Sends the keyed report to a server that dies recording it; resolves once it has died by SIGKILL. */
async function reportIntoTheWindow(server: StartedProcess, city: string, key: string) {
  await expect(report(server.ready, city, key)).rejects.toThrow();
  await server.exited;
  expect(server.child.signalCode).toBe('SIGKILL');
}

describe('a SIGKILL between storing a keyed mutation’s event and recording its answer', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('SQLite: the retry after the restart answers with the stored event and publishes nothing', {
    timeout: 90_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'corbel-kill-record-'));
    dirs.push(dataDir);
    const key = randomUUID();
    const dying = await startServer(['--data', dataDir, '--kill-before-record']);
    try {
      await reportIntoTheWindow(dying, 'oslo', key);
    } finally {
      await dying.stop('SIGKILL');
    }
    await using server = await startServer(['--data', dataDir]);
    const stored = await events(server.ready);
    // The kill came after the append: the event is there, its answer is not.
    expect(stored.map((e) => e.city)).toEqual(['oslo']);

    const retry = await report(server.ready, 'oslo', key);
    expect(retry.status).toBe(200);
    expect(resultData<{ id: string }>(retry.json).id).toBe(stored[0]!.id);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const again = await report(server.ready, 'oslo', key);
    expect(resultData<{ id: string }>(again.json).id).toBe(stored[0]!.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await events(server.ready)).toEqual(stored);

    // Another key is another call: it publishes.
    const other = await report(server.ready, 'oslo', randomUUID());
    expect(resultData<{ id: string }>(other.json).id).not.toBe(stored[0]!.id);
    expect((await events(server.ready)).length).toBe(2);

    const metrics = await rawRequest(`${server.ready}/metrics`);
    expect(metrics.text).toMatch(/corbel_duplicate_publishes_total\{channel="readings"\} 1/);
    expect(metrics.text).toMatch(/corbel_idempotent_replays_total\{procedure="report"\} 1/);
  });

  const redisAvailable = requireRedisServer('tests/regression/kill-between-append-and-record');
  it.skipIf(!redisAvailable)(
    'Redis: the retry on another instance answers with the stored event once the lease lapses',
    { timeout: 90_000 },
    async () => {
      await using redis = await startRedisServer();
      const key = randomUUID();
      const dying = await startServer(['--redis', redis.url, '--kill-before-record']);
      await using other = await startServer(['--redis', redis.url]);
      try {
        await reportIntoTheWindow(dying, 'bergen', key);
      } finally {
        await dying.stop('SIGKILL');
      }
      const stored = await events(other.ready);
      expect(stored.map((e) => e.city)).toEqual(['bergen']);

      // The dead instance's claim holds for its 1 s lease; the retry waits it out.
      const retry = await report(other.ready, 'bergen', key);
      expect(retry.status).toBe(200);
      expect(resultData<{ id: string }>(retry.json).id).toBe(stored[0]!.id);
      expect(await events(other.ready)).toEqual(stored);
    },
  );
});
