import { describe, expect, it } from 'vitest';
import { until } from './until.js';

describe('until', () => {
  it('resolves once the check holds, checking again in between', async () => {
    let calls = 0;
    await until(() => ++calls === 3, { what: 'the third call' });
    expect(calls).toBe(3);
  });

  it('takes a check that answers with a promise', async () => {
    let calls = 0;
    await until(async () => ++calls >= 2, { what: 'the second call' });
    expect(calls).toBe(2);
  });

  it('fails with what it waited for and for how long', async () => {
    const waited = until(() => false, { what: 'the server to see the client leave', timeoutMs: 50 });
    await expect(waited).rejects.toThrow(
      /^timed out after \d+ ms waiting for the server to see the client leave$/,
    );
  });

  it('computes a `what` given as a function when it fails, so it shows the state then', async () => {
    let state = 'closed';
    const check = () => {
      state = 'half-open';
      return false;
    };
    const waited = until(check, { what: () => `the stream to open (it is ${state})`, timeoutMs: 50 });
    await expect(waited).rejects.toThrow(/waiting for the stream to open \(it is half-open\)$/);
  });

  it('fails at the deadline even when a check never settles', async () => {
    const waited = until(() => new Promise<boolean>(() => {}), { what: 'a hung check', timeoutMs: 50 });
    await expect(waited).rejects.toThrow(/^timed out after \d+ ms waiting for a hung check$/);
  });

  it('fails with the error of a check that throws, without waiting for the deadline', async () => {
    const boom = new Error('the socket closed');
    await expect(
      until(
        () => {
          throw boom;
        },
        { what: 'never', timeoutMs: 60_000 },
      ),
    ).rejects.toBe(boom);
    await expect(until(() => Promise.reject(boom), { what: 'never', timeoutMs: 60_000 })).rejects.toBe(boom);
  });
});
