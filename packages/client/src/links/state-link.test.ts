import { describe, expect, it } from 'vitest';
import {
  errorShape,
  refusePlan,
  type ScriptedRouter,
  startScriptedServer,
  until,
} from '../../test/sse-server.js';
import { createCorbelClient } from '../client.js';
import type { StateChange } from './state-link.js';

describe('stateLink', () => {
  it('reports connecting, live, reconnecting (saying why) and closed, whatever style the app consumes with', async () => {
    await using server = await startScriptedServer();
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      transport: 'sse',
      maxReconnectDelayMs: 50,
      onStateChange: (c) => changes.push(c),
    });
    const ac = new AbortController();
    const iterating = (async () => {
      for await (const _ of client.ticks.subscribe(undefined, { signal: ac.signal })) {
        // events are not the point here
      }
    })();
    await until(() => changes.some((c) => c.state === 'live'), 'live');
    // The connection drops (no frame, no error document).
    server.streams[0]!.destroy();
    await until(() => changes.filter((c) => c.state === 'live').length === 2, 'live again');
    const reconnecting = changes.find((c) => c.state === 'reconnecting')!;
    expect(reconnecting.path).toBe('ticks');
    // Not tRPC's bare "Unknown error": what happened.
    expect(reconnecting.error?.message).toBeTruthy();
    expect(reconnecting.error?.message).not.toBe('Unknown error');
    expect(changes.map((c) => c.state)).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    ac.abort();
    await iterating;
  });

  it('reports closed with the error that ended a subscription', async () => {
    await using server = await startScriptedServer();
    const forbidden = errorShape({
      code: 'FORBIDDEN',
      httpStatus: 403,
      corbelCode: 'FORBIDDEN',
      message: 'not yours',
    });
    server.plans.push(refusePlan(403, forbidden));
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      transport: 'sse',
      onStateChange: (c) => changes.push(c),
    });
    client.ticks.subscribe(undefined, { onData: () => {}, onError: () => {} });
    await until(() => changes.some((c) => c.state === 'closed'), 'closed');
    const closed = changes.find((c) => c.state === 'closed')!;
    expect(closed.error?.message).toBe('not yours');
    expect(changes.map((c) => c.state)).not.toContain('live');
  });

  it('says nothing for queries and mutations', async () => {
    await using server = await startScriptedServer();
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      onStateChange: (c) => changes.push(c),
    });
    await client.echo.query(1);
    await client.report.mutate({ n: 1 });
    expect(changes).toEqual([]);
  });
});
