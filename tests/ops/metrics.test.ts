import { connect } from 'node:net';
import { createCorbelClient } from '@corbel/client';
import { createCorbelMetrics, staticTokenAuth } from '@corbel/server';
import { openSse, rawRequest } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { inbox, q, type SecurityRouter, startSecurityService, until } from '../security/fixture.js';
import { sample } from './scrape.js';

describe('/metrics after a scripted scenario', () => {
  it('moves the counters for commands, errors, auth, limits, streams, a slow consumer, a resume and history gone', async () => {
    const metrics = createCorbelMetrics();
    await using svc = await startSecurityService({
      metrics,
      maxQueue: 32,
      sseStallTimeoutMs: 500,
      authenticate: staticTokenAuth({ tokens: { t: 'alice' } }),
      protectMetrics: false,
      limits: { maxBatchSize: 2 },
    });
    const client = createCorbelClient<SecurityRouter>({ url: svc.url, token: 't' });
    const auth = { authorization: 'Bearer t' };

    // Commands: 3 fine, 1 invalid input, 1 unknown procedure; 1 refused by auth; 1 oversized batch.
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(await client.publish.mutate({ n, room: 'r' }));
    await client.publish.mutate({ n: 1.5, room: 'r' }).catch(() => {});
    await rawRequest(`${svc.url}/rpc/nope`, { headers: auth });
    await rawRequest(`${svc.url}/rpc/whoami`);
    await rawRequest(`${svc.url}/rpc/whoami,whoami,whoami?batch=1`, { headers: auth });

    // A resume that replays 2 events, and a resume from a history this server never had.
    await using resumed = await openSse(`${svc.url}/rpc/ticks?${q({})}`, {
      ...auth,
      'last-event-id': ids[0]!,
    });
    expect((await resumed.collect(2, 5000)).filter((f) => f.event === 'message')).toHaveLength(2);
    const gone = await rawRequest(`${svc.url}/rpc/ticks?${q({ lastEventId: 'ffffffff-5' })}`, {
      headers: auth,
    });
    expect(gone.status).toBe(412);

    // A subscriber that never reads is cut off as slow.
    const { hostname, port } = new URL(svc.url);
    const reader = connect(Number(port), hostname);
    reader.on('error', () => {});
    reader.write(
      `GET /rpc/inbox?${q({ owner: 'x' })} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\n\r\n`,
    );
    reader.pause();
    await until(() => svc.hub.stats().subscribers === 2, { what: 'slow reader subscribed', timeoutMs: 5000 });
    const text = 'x'.repeat(1000);
    for (let i = 0; i < 40 && svc.hub.stats().subscribers === 2; i++) {
      await Promise.all(Array.from({ length: 200 }, () => svc.hub.publish(inbox, { to: 'x', text })));
    }
    await until(() => svc.hub.stats().subscribers === 1, { what: 'slow reader cut off', timeoutMs: 5000 });
    // Its socket is still full: the stream ends at the stall timeout (or when the client goes).
    await until(() => svc.server.streamCount === 1, { what: 'slow stream closed', timeoutMs: 5000 });
    reader.destroy();

    const res = await rawRequest(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const m = res.text;
    expect(sample(m, 'corbel_commands_total', { procedure: 'publish', status: '200' })).toBe(3);
    expect(sample(m, 'corbel_commands_total', { procedure: 'publish', status: '400' })).toBe(1);
    expect(sample(m, 'corbel_commands_total', { procedure: 'unknown', status: '404' })).toBe(1);
    expect(sample(m, 'corbel_command_duration_seconds_count', { procedure: 'publish' })).toBe(4);
    expect(sample(m, 'corbel_auth_refusals_total', { reason: 'missing' })).toBe(1);
    expect(sample(m, 'corbel_limit_hits_total', { kind: 'batch' })).toBe(1);
    expect(sample(m, 'corbel_events_published_total', { channel: 'sec.ticks' })).toBe(3);
    expect(sample(m, 'corbel_resumes_total', { channel: 'sec.ticks' })).toBe(1);
    expect(sample(m, 'corbel_replayed_events_total', { channel: 'sec.ticks' })).toBe(2);
    expect(sample(m, 'corbel_history_gone_total', { channel: 'sec.ticks' })).toBe(1);
    expect(sample(m, 'corbel_slow_consumer_cutoffs_total', { channel: 'sec.inbox' })).toBe(1);
    expect(
      sample(m, 'corbel_stream_closes_total', { procedure: 'inbox', reason: 'slow-consumer' }) +
        sample(m, 'corbel_stream_closes_total', { procedure: 'inbox', reason: 'stalled' }),
    ).toBe(1);
    expect(sample(m, 'corbel_streams_open', { procedure: 'ticks' })).toBe(1);
    expect(sample(m, 'corbel_subscribers', { channel: 'sec.ticks' })).toBe(1);
    expect(sample(m, 'corbel_events_sent_total', { procedure: 'ticks' })).toBe(2);
    expect(sample(m, 'corbel_events_delivered_total', { channel: 'sec.inbox' })).toBeGreaterThanOrEqual(32);
    expect(sample(m, 'corbel_store_append_duration_seconds_count')).toBeGreaterThan(3);
    expect(sample(m, 'corbel_connections_open')).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'corbel_process_resident_memory_bytes')).toBeGreaterThan(0);
    // No per-id or per-session labels anywhere.
    expect(m).not.toMatch(/[0-9a-f]{8}-\d+/);
  });

  it('can be protected with the same auth as the rest, moved, or disabled', async () => {
    await using guarded = await startSecurityService({ authenticate: staticTokenAuth({ tokens: 't' }) });
    expect((await rawRequest(`${guarded.url}/metrics`)).status).toBe(401);
    expect(
      (await rawRequest(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer t' } })).status,
    ).toBe(200);

    await using moved = await startSecurityService({ metricsPath: '/internal/metrics' });
    expect((await rawRequest(`${moved.url}/internal/metrics`)).status).toBe(200);
    expect((await rawRequest(`${moved.url}/metrics`)).status).toBe(404);

    await using off = await startSecurityService({ metrics: false });
    expect((await rawRequest(`${off.url}/metrics`)).status).toBe(404);
    expect(off.server.metrics).toBeUndefined();
  });
});
