import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { errorShape } from '../test/sse-server.js';
import {
  backoffMs,
  reconnectDelayMs,
  retryAfterMsOfResponse,
  shouldReconnect,
  withRetryAfter,
} from './retry-policy.js';

/** Corbel codes the server marks retryable (protocol.md section 6.3), and the tRPC codes it does without one. */
const RETRYABLE = new Set([
  'SLOW_CONSUMER',
  'DRAINING',
  'TOKEN_EXPIRED',
  'LIMIT_EXCEEDED',
  'TIMEOUT',
  'CONSUMER_ELSEWHERE',
  'SERVICE_UNAVAILABLE',
  'BAD_GATEWAY',
  'GATEWAY_TIMEOUT',
  'TOO_MANY_REQUESTS',
]);

/** The error a link raises from a Corbel server's error document (with its `retryable`). */
const serverError = (
  code: string,
  httpStatus: number,
  corbelCode: string | null = null,
  retryAfterMs?: number,
) => {
  const retryable = RETRYABLE.has(corbelCode ?? code);
  const envelope = { json: errorShape({ code, httpStatus, corbelCode, retryable }) };
  withRetryAfter(envelope, retryAfterMs);
  return TRPCClientError.from({ error: envelope.json } as never);
};

describe('shouldReconnect', () => {
  it('reconnects after transport failures and retryable server errors, however many attempts', () => {
    expect(shouldReconnect(new TRPCClientError('fetch failed'), 1000, false)).toBe(true);
    expect(shouldReconnect(new Error('socket hang up'), 1, false)).toBe(true);
    for (const [code, status, corbel] of [
      ['SERVICE_UNAVAILABLE', 503, 'DRAINING'],
      ['SERVICE_UNAVAILABLE', 503, 'SLOW_CONSUMER'],
      ['TOO_MANY_REQUESTS', 429, 'LIMIT_EXCEEDED'],
      ['CONFLICT', 409, 'CONSUMER_ELSEWHERE'],
      ['TIMEOUT', 408, 'TIMEOUT'],
      ['BAD_GATEWAY', 502, null],
    ] as const) {
      expect(shouldReconnect(serverError(code, status, corbel), 50, false)).toBe(true);
    }
  });

  it("follows the server's retryable flag: a 500 it calls final ends the stream, even a 4xx it calls retryable reconnects", () => {
    for (const corbel of [null, 'STORE_CORRUPT', 'STORE_LOCKED']) {
      expect(shouldReconnect(serverError('INTERNAL_SERVER_ERROR', 500, corbel), 1, true)).toBe(false);
    }
    expect(shouldReconnect(serverError('SERVICE_UNAVAILABLE', 503, 'CLIENT_GONE'), 1, true)).toBe(false);
    const conflict = errorShape({ code: 'CONFLICT', httpStatus: 409, retryable: true });
    expect(shouldReconnect(TRPCClientError.from({ error: conflict } as never), 9, false)).toBe(true);
  });

  it('without a retryable flag (a server that is not Corbel), by code: a 500 reconnects, a 400 does not', () => {
    const bare = (code: string, httpStatus: number) => {
      const { retryable: _, ...data } = errorShape({ code, httpStatus }).data;
      return TRPCClientError.from({ error: { message: code, code: -32603, data } } as never);
    };
    expect(shouldReconnect(bare('INTERNAL_SERVER_ERROR', 500), 5, false)).toBe(true);
    expect(shouldReconnect(bare('BAD_REQUEST', 400), 1, false)).toBe(false);
  });

  it('never reconnects after HISTORY_GONE or an error a new attempt cannot fix', () => {
    expect(shouldReconnect(serverError('PRECONDITION_FAILED', 412, 'HISTORY_GONE'), 1, true)).toBe(false);
    for (const [code, status] of [
      ['BAD_REQUEST', 400],
      ['PARSE_ERROR', 400],
      ['NOT_FOUND', 404],
      ['FORBIDDEN', 403],
      ['METHOD_NOT_SUPPORTED', 405],
      ['PAYLOAD_TOO_LARGE', 413],
      ['UNSUPPORTED_MEDIA_TYPE', 415],
      ['UNPROCESSABLE_CONTENT', 422],
      ['NOT_IMPLEMENTED', 501],
    ] as const) {
      expect(shouldReconnect(serverError(code, status), 1, true)).toBe(false);
    }
  });

  it('UNAUTHORIZED: three more attempts when a fresh token can be asked for, none otherwise', () => {
    const unauthorized = serverError('UNAUTHORIZED', 401, 'UNAUTHENTICATED');
    expect([1, 2, 3, 4].map((n) => shouldReconnect(unauthorized, n, true))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(shouldReconnect(unauthorized, 1, false)).toBe(false);
  });

  it('TOKEN_EXPIRED: always, when a fresh token can be asked for', () => {
    const expired = serverError('UNAUTHORIZED', 401, 'TOKEN_EXPIRED');
    expect(shouldReconnect(expired, 100, true)).toBe(true);
    expect(shouldReconnect(expired, 1, false)).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles from 250 ms up to the maximum, with jitter in the upper half', () => {
    for (let i = 0; i < 200; i++) {
      const first = backoffMs(1);
      expect(first).toBeGreaterThanOrEqual(125);
      expect(first).toBeLessThanOrEqual(250);
      const third = backoffMs(3);
      expect(third).toBeGreaterThanOrEqual(500);
      expect(third).toBeLessThanOrEqual(1000);
      expect(backoffMs(30)).toBeLessThanOrEqual(5000);
      expect(backoffMs(30)).toBeGreaterThanOrEqual(2500);
      expect(backoffMs(30, 50)).toBeLessThanOrEqual(50);
      expect(backoffMs(0)).toBeLessThanOrEqual(250);
    }
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds, capped at a minute; absent, zero or a date is no wait', () => {
    const res = (value: string | null) =>
      new Response(null, value === null ? {} : { headers: { 'retry-after': value } });
    expect(retryAfterMsOfResponse(res('2'))).toBe(2000);
    expect(retryAfterMsOfResponse(res('3600'))).toBe(60_000);
    expect(retryAfterMsOfResponse(res('0'))).toBeUndefined();
    expect(retryAfterMsOfResponse(res(null))).toBeUndefined();
    expect(retryAfterMsOfResponse(res('Wed, 21 Oct 2026 07:28:00 GMT'))).toBeUndefined();
  });

  it('reconnectDelayMs waits the longer of the backoff and the Retry-After the error carries', () => {
    const limited = serverError('TOO_MANY_REQUESTS', 429, 'LIMIT_EXCEEDED', 5000);
    expect(reconnectDelayMs(limited, 1, 50)).toBe(5000);
    const short = serverError('TOO_MANY_REQUESTS', 429, 'LIMIT_EXCEEDED', 1);
    expect(reconnectDelayMs(short, 1, 50)).toBeGreaterThanOrEqual(25);
    expect(reconnectDelayMs(serverError('BAD_GATEWAY', 502), 1, 50)).toBeLessThanOrEqual(50);
    expect(reconnectDelayMs(new Error('not a client error'), 1, 50)).toBeLessThanOrEqual(50);
  });
});
