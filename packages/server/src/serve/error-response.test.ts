import { CorbelError, initCorbel } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { errorBody, errorCodeOf } from './error-response.js';
import { bridgeRouter } from './trpc-bridge.js';

const t = initCorbel();
const bridge = bridgeRouter(t.router({ ping: t.procedure.query(() => 'pong') }));

describe('errorBody', () => {
  it("shapes a CorbelError in tRPC's wire shape with its code and retryable flag", () => {
    const { status, body } = errorBody(bridge, new CorbelError('DRAINING', 'shutting down'));
    expect(status).toBe(503);
    const json = JSON.parse(body);
    expect(json.error.json.message).toBe('shutting down');
    expect(json.error.json.data).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      corbelCode: 'DRAINING',
      retryable: true,
    });
  });

  it('takes an explicit status over the one of the code, in the body too', () => {
    const { status, body } = errorBody(bridge, new CorbelError('BAD_REQUEST', 'too long'), { status: 414 });
    expect(status).toBe(414);
    expect(JSON.parse(body).error.json.data.httpStatus).toBe(414);
  });

  it('shapes a plain TRPCError with its path', () => {
    const { status, body } = errorBody(
      bridge,
      new TRPCError({ code: 'NOT_FOUND', message: 'nothing here' }),
      {
        path: 'pong',
        type: 'query',
      },
    );
    expect(status).toBe(404);
    expect(JSON.parse(body).error.json.data).toMatchObject({ code: 'NOT_FOUND', path: 'pong' });
  });

  it('takes a shape the caller built (and reported) already, with the status of the code', () => {
    const error = new CorbelError('HISTORY_GONE', 'too old');
    const shape = bridge.errorShape({ error, type: 'subscription', path: 'ticks', input: {}, ctx: {} });
    const { status, body } = errorBody(bridge, error, { shape });
    expect(status).toBe(412);
    expect(JSON.parse(body).error.json.data).toMatchObject({ corbelCode: 'HISTORY_GONE', path: 'ticks' });
  });
});

describe('errorCodeOf', () => {
  it('names the Corbel code when there is one, else the tRPC code', () => {
    expect(errorCodeOf(new CorbelError('INVALID_EVENT_ID', 'bad id'))).toBe('INVALID_EVENT_ID');
    expect(errorCodeOf(new TRPCError({ code: 'BAD_REQUEST', message: 'no' }))).toBe('BAD_REQUEST');
  });
});
