import { describe, expect, it } from 'vitest';
import { errorShape, startScriptedServer } from '../test/sse-server.js';
import { corbelCodeOf } from './errors.js';
import { decodePollData, pollEvents } from './long-poll.js';

describe('pollEvents', () => {
  it("sends the cursor in the query (not the input's own member), auth, and decodes the answer", async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    server.log.publish(2);
    const answer = await pollEvents(
      fetch,
      { token: 'x' },
      {
        url: `${server.url}/rpc`,
        path: 'ticks',
        input: { city: 'Oslo', lastEventId: 'stale' },
        lastEventId: 'e-1',
        waitMs: 0,
      },
    );
    expect(answer).toEqual({
      events: [{ id: 'e-2', data: { n: 2 } }],
      lastEventId: 'e-2',
      more: false,
      done: false,
    });
    const [request] = server.pollRequests();
    expect(request!.input).toEqual({ city: 'Oslo' });
    expect([request!.query.get('lastEventId'), request!.query.get('wait')]).toEqual(['e-1', '0']);
    expect(request!.authorization).toBe('Bearer x');
  });

  it("throws the server's error, with the Retry-After it named, and a network failure as a client error", async () => {
    await using server = await startScriptedServer();
    server.refuseAll = {
      status: 429,
      error: errorShape({
        code: 'TOO_MANY_REQUESTS',
        httpStatus: 429,
        corbelCode: 'LIMIT_EXCEEDED',
        retryable: true,
      }),
      headers: { 'retry-after': '2' },
    };
    const req = {
      url: `${server.url}/rpc`,
      path: 'ticks',
      input: undefined,
      lastEventId: undefined,
      waitMs: 0,
    };
    const error = await pollEvents(fetch, {}, req).catch((e: unknown) => e);
    expect(corbelCodeOf(error)).toBe('LIMIT_EXCEEDED');
    expect((error as { data: { retryAfterMs?: number } }).data.retryAfterMs).toBe(2000);
    await server.close();
    await expect(pollEvents(fetch, {}, req)).rejects.toMatchObject({ name: 'TRPCClientError' });
  });

  it('refuses a malformed answer', () => {
    expect(() => decodePollData({ events: 'no' })).toThrow(/malformed/);
    expect(decodePollData({ events: [{ data: { json: 1 } }], lastEventId: null })).toEqual({
      events: [{ id: undefined, data: 1 }],
      lastEventId: null,
      more: false,
      done: false,
    });
  });
});
