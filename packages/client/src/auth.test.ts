import { describe, expect, it } from 'vitest';
import { authHeaders } from './auth.js';

describe('authHeaders', () => {
  it('adds the bearer token to the extra headers, computing both afresh on each call', async () => {
    let n = 0;
    const opts = { getToken: async () => `t${++n}`, headers: () => ({ 'x-call': String(n) }) };
    expect(await authHeaders(opts)).toEqual({ 'x-call': '0', authorization: 'Bearer t1' });
    expect(await authHeaders(opts)).toEqual({ 'x-call': '1', authorization: 'Bearer t2' });
  });

  it('a fixed token; none; getToken wins over token, and may say there is none now', async () => {
    expect(await authHeaders({ token: 'fixed', headers: { 'x-a': '1' } })).toEqual({
      'x-a': '1',
      authorization: 'Bearer fixed',
    });
    expect(await authHeaders({})).toEqual({});
    expect(await authHeaders({ token: 'fixed', getToken: () => 'fresh' })).toEqual({
      authorization: 'Bearer fresh',
    });
    expect(await authHeaders({ token: 'fixed', getToken: () => null })).toEqual({});
  });
});
