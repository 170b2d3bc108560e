import { describe, expect, it } from 'vitest';
import { type ScriptedRouter, startScriptedServer, until } from '../../test/sse-server.js';
import { createCorbelClient } from '../client.js';

describe('timeoutLink', () => {
  it('aborts a command unanswered after timeoutMs (closing its request), and never times a subscription', async () => {
    await using server = await startScriptedServer();
    const held: import('node:http').ServerResponse[] = [];
    server.onCommand = (_req, res) => {
      held.push(res); // never answered
      return true;
    };
    server.defaultPlan = (s) => s.connected(); // a stream with no events at all
    const client = createCorbelClient<ScriptedRouter>({ url: server.url, timeoutMs: 200, transport: 'sse' });
    const states: string[] = [];
    const sub = client.ticks.subscribe(undefined, {
      onData: () => {},
      onConnectionStateChange: (s) => states.push(s.state),
    });
    try {
      await expect(client.echo.query(1)).rejects.toThrow(/abort/i);
      await until(() => held.length === 1 && held[0]!.destroyed, 'the request to be closed');
      // A caller's own signal still works beside the timeout.
      const ac = new AbortController();
      const call = client.echo.query(2, { signal: ac.signal });
      ac.abort();
      await expect(call).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(states).toEqual(['connecting', 'pending']);
      expect(server.streamRequests()).toHaveLength(1);
    } finally {
      sub.unsubscribe();
    }
  });

  it('timeoutMs 0 never times out', async () => {
    await using server = await startScriptedServer();
    server.onCommand = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('[{"result":{"data":{"json":"late"}}}]');
      }, 300);
      return true;
    };
    const client = createCorbelClient<ScriptedRouter>({ url: server.url, timeoutMs: 0 });
    expect(await client.echo.query(1)).toBe('late');
  });
});
