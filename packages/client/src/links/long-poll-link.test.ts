import { describe, expect, it } from 'vitest';
import { errorShape, type ScriptedServer, startScriptedServer, until } from '../../test/sse-server.js';
import { createCorbelClient } from '../client.js';
import { isHistoryGone } from '../errors.js';
import type { StateChange } from './state-link.js';

function pollClient(server: ScriptedServer, extra: { getToken?: () => string } = {}) {
  const changes: StateChange[] = [];
  const client = createCorbelClient<import('../../test/sse-server.js').ScriptedRouter>({
    url: server.url,
    transport: 'long-poll',
    longPollWaitMs: 300,
    maxReconnectDelayMs: 50,
    onStateChange: (c) => changes.push(c),
    ...extra,
  });
  const ids: string[] = [];
  let error: unknown;
  let completed = false;
  const subscribe = (input?: { lastEventId?: string }) =>
    client.ticks.subscribe(input, {
      onData: ({ id }) => ids.push(id),
      onError: (e) => {
        error = e;
      },
      onComplete: () => {
        completed = true;
      },
    });
  return { changes, ids, error: () => error, completed: () => completed, subscribe };
}

describe('longPollLink', () => {
  it('delivers events in order across polls, each poll resuming from the id the last answer named, with auth on each', async () => {
    await using server = await startScriptedServer();
    let token = 0;
    const c = pollClient(server, { getToken: () => `t${++token}` });
    server.log.publish(1);
    const sub = c.subscribe({ lastEventId: 'e-1' });
    try {
      await until(() => c.changes.some((s) => s.state === 'live'), 'live');
      for (let n = 2; n <= 6; n++) server.log.publish(n);
      await until(() => c.ids.length === 5, 'five events');
      server.log.publish(7);
      await until(() => c.ids.length === 6, 'a sixth, while a poll waits');
      expect(c.ids).toEqual(['e-2', 'e-3', 'e-4', 'e-5', 'e-6', 'e-7']);
      const polls = server.pollRequests();
      // The first poll does not wait (it says at once that polling works); the next ones do.
      expect(polls[0]!.query.get('wait')).toBe('0');
      expect(polls[1]!.query.get('wait')).toBe('300');
      expect(polls[0]!.resumeId).toBe('e-1');
      // Every poll resumes from the newest id it had received; never one it had not.
      const received = new Set(['e-1', ...c.ids]);
      expect(polls.every((p) => received.has(p.resumeId!))).toBe(true);
      expect(new Set(polls.map((p) => p.authorization)).size).toBe(polls.length);
      expect(c.changes[0]).toMatchObject({ state: 'connecting', transport: 'long-poll' });
      expect(c.changes[1]).toMatchObject({ state: 'live', transport: 'long-poll' });
    } finally {
      sub.unsubscribe();
    }
  });

  it('retries a failed poll from the same id, after the Retry-After the server names', async () => {
    await using server = await startScriptedServer();
    const c = pollClient(server);
    server.log.publish(1);
    server.refuseAll = {
      status: 503,
      error: errorShape({
        code: 'SERVICE_UNAVAILABLE',
        httpStatus: 503,
        corbelCode: 'DRAINING',
        retryable: true,
      }),
      headers: { 'retry-after': '1' },
    };
    const sub = c.subscribe({ lastEventId: 'e-1' });
    try {
      await until(() => server.pollRequests().length === 1, 'the first poll');
      server.log.publish(2);
      await until(() => c.changes.some((s) => s.state === 'reconnecting'), 'reconnecting');
      server.refuseAll = null;
      await until(() => c.ids.length === 1, 'the event');
      expect(c.ids).toEqual(['e-2']);
      const [first, second] = server.pollRequests();
      expect(second!.resumeId).toBe('e-1');
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
      expect(c.changes.find((s) => s.state === 'reconnecting')?.error?.message).toMatch(
        /DRAINING|SERVICE_UNAVAILABLE/,
      );
    } finally {
      sub.unsubscribe();
    }
  });

  it('ends with the server error after a final refusal (HISTORY_GONE)', async () => {
    await using server = await startScriptedServer();
    const c = pollClient(server);
    server.refuseAll = {
      status: 412,
      error: errorShape({ code: 'PRECONDITION_FAILED', httpStatus: 412, corbelCode: 'HISTORY_GONE' }),
    };
    c.subscribe({ lastEventId: 'e-1' });
    await until(() => c.error() !== undefined, 'the error');
    expect(isHistoryGone(c.error())).toBe(true);
    expect(c.changes.at(-1)).toMatchObject({ state: 'closed' });
    expect(server.pollRequests()).toHaveLength(1);
  });

  it('completes when an answer says the channel is done', async () => {
    await using server = await startScriptedServer();
    const c = pollClient(server);
    server.log.publish(1);
    server.log.publish(2);
    server.pollDone = true;
    c.subscribe({ lastEventId: 'e-1' });
    await until(() => c.completed(), 'completion');
    expect(c.ids).toEqual(['e-2']);
    expect(c.changes.map((s) => s.state)).toEqual(['connecting', 'live', 'closed']);
  });
});
