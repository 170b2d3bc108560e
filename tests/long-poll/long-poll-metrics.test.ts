/** Long polls in /metrics: the held-polls gauge, answered polls by outcome, events delivered by long poll. */
import { queryInput } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { startTestService, ticks, until } from '../foundation/fixture.js';

/** The value of one series in the server's /metrics text (0 when absent). */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const poll = (url: string, wait: number, lastEventId: string) =>
  fetch(`${url}/rpc/ticks?${queryInput({})}&longPoll=1&wait=${wait}&lastEventId=${lastEventId}`, {
    signal: AbortSignal.timeout(15_000),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

const HELD = 'corbel_long_polls_held{procedure="ticks"}';
const ANSWERED = (outcome: string) => `corbel_long_polls_total{procedure="ticks",outcome="${outcome}"}`;
const EVENTS = 'corbel_long_poll_events_total{procedure="ticks"}';

describe('long polls in /metrics', () => {
  it('counts held polls, answered polls by outcome, and the events they delivered', async () => {
    await using svc = await startTestService();
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    expect(await metric(svc.url, HELD)).toBe(0);

    // Two polls waiting for the next event: held, then answered with it.
    const waiting = [poll(svc.url, 10_000, first.id), poll(svc.url, 10_000, first.id)];
    await until(() => svc.hub.stats().subscribers === 2, { what: 'the polls to be held', timeoutMs: 5000 });
    expect(await metric(svc.url, HELD)).toBe(2);
    const next = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    for (const answer of await Promise.all(waiting)) expect(answer.body.result.data.events).toHaveLength(1);
    expect(await metric(svc.url, HELD)).toBe(0);
    expect(await metric(svc.url, ANSWERED('events'))).toBe(2);
    expect(await metric(svc.url, EVENTS)).toBe(2);

    // A backlog of three in one answer; a poll that finds nothing.
    for (let n = 2; n <= 4; n++) await svc.hub.publish(ticks, { n, at: new Date() });
    expect((await poll(svc.url, 0, next.id)).body.result.data.events).toHaveLength(3);
    const last = await svc.hub.publish(ticks, { n: 5, at: new Date() });
    expect((await poll(svc.url, 0, last.id)).body.result.data.events).toHaveLength(0);
    expect(await metric(svc.url, ANSWERED('events'))).toBe(3);
    expect(await metric(svc.url, ANSWERED('empty'))).toBe(1);
    expect(await metric(svc.url, EVENTS)).toBe(5);
    // A refused poll is no answered poll: it never held anything.
    expect((await poll(svc.url, 0, 'nope')).status).toBe(400);
    expect(await metric(svc.url, ANSWERED('empty'))).toBe(1);
    expect(await metric(svc.url, ANSWERED('error'))).toBe(0);
    expect(await metric(svc.url, HELD)).toBe(0);
  });
});
