import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { checkSuperjsonInput } from './superjson-budget.js';

const codeOf = (payload: unknown, limits = {}) => {
  try {
    checkSuperjsonInput(payload, limits);
    return 'ok';
  } catch (error) {
    return (error as { corbelCode?: string }).corbelCode ?? String(error);
  }
};

/** What superjson.serialize writes, through JSON like the wire. */
const wire = (value: unknown) => JSON.parse(JSON.stringify(superjson.serialize(value)));

describe('checkSuperjsonInput', () => {
  it('passes whatever superjson.serialize writes, collections of thousands included', () => {
    const shared = { at: new Date(0) };
    const big = new Map(Array.from({ length: 4000 }, (_, i) => [i, new Date(i)] as const));
    const payloads = [
      { a: 1 },
      { at: new Date(), n: 10n ** 50n, u: undefined, r: /x+/g, url: new URL('http://x/') },
      { big, set: new Set(Array.from({ length: 4000 }, (_, i) => new Date(i))) },
      { nested: new Map([[new Set([new Date(1)]), new Map([['k', new Date(2)]])]]) },
      // The same object in many places: referential equalities through a Map.
      { m: new Map(Array.from({ length: 1000 }, (_, i) => [i, shared] as const)), list: [shared, shared] },
      { t: new Float64Array([1, 2, 3]), dates: Array.from({ length: 1500 }, (_, i) => new Date(i)) },
    ];
    for (const p of payloads) {
      const started = performance.now();
      expect(codeOf(wire(p))).toBe('ok');
      expect(performance.now() - started).toBeLessThan(1000);
      expect(() => superjson.deserialize(wire(p))).not.toThrow();
    }
  });

  it('refuses annotations that walk a Map or Set converted before them, in milliseconds', () => {
    for (const kind of ['map', 'set'] as const) {
      const values: Record<string, unknown> = { m: [kind] };
      const items = Array.from({ length: 60_000 }, (_, i) => (kind === 'map' ? [i, 0] : i));
      for (let i = 0; i < 20_000; i++)
        values[kind === 'map' ? `m.${59_999 - i}.1` : `m.${59_999 - i}`] = ['number'];
      const started = performance.now();
      expect(codeOf({ json: { m: items }, meta: { values } })).toBe('INPUT_TOO_COMPLEX');
      expect(performance.now() - started).toBeLessThan(200);
    }
  });

  it('bounds referential-equality lookups into collections, also through aliases', () => {
    const items = Array.from({ length: 60_000 }, (_, i) => i);
    const equalities: Record<string, string[]> = {};
    for (let i = 0; i < 100; i++) equalities[`s.${59_999 - i}`] = [`x${i}`];
    expect(
      codeOf({ json: { s: items }, meta: { values: { s: ['set'] }, referentialEqualities: equalities } }),
    ).toBe('INPUT_TOO_COMPLEX');
    // An alias of the collection itself, then lookups through the alias.
    const through: Record<string, string[]> = { s: ['a'] };
    for (let i = 0; i < 100; i++) through[`a.${59_999 - i}`] = [`y${i}`];
    expect(
      codeOf({ json: { s: items }, meta: { values: { s: ['set'] }, referentialEqualities: through } }),
    ).toBe('INPUT_TOO_COMPLEX');
    // The root form: everything aliases the root.
    expect(
      codeOf({
        json: { s: items },
        meta: { values: { s: ['set'] }, referentialEqualities: [['r'], through] },
      }),
    ).toBe('INPUT_TOO_COMPLEX');
  });

  it('refuses typed arrays not made from a bounded array, long BigInts, long paths and too many annotations', () => {
    const typed = (t: unknown) => ({
      json: { t },
      meta: { values: { t: [['typed-array', 'Float64Array']] } },
    });
    expect(codeOf(typed(2 ** 31))).toBe('INPUT_TOO_COMPLEX');
    expect(codeOf(typed('2147483648'))).toBe('INPUT_TOO_COMPLEX');
    expect(codeOf(typed({ length: 2 ** 31 }))).toBe('INPUT_TOO_COMPLEX');
    expect(codeOf(typed([1, 2]))).toBe('ok');
    expect(codeOf(typed([1, 2, 3]), { maxTypedArrayLength: 2 })).toBe('INPUT_TOO_COMPLEX');
    expect(codeOf({ json: { n: '7'.repeat(5000) }, meta: { values: { n: ['bigint'] } } })).toBe(
      'INPUT_TOO_COMPLEX',
    );
    expect(codeOf({ json: {}, meta: { values: { [Array(200).fill('a').join('.')]: ['undefined'] } } })).toBe(
      'INPUT_TOO_COMPLEX',
    );
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 11; i++) many[`k${i}`] = ['undefined'];
    expect(codeOf({ json: {}, meta: { values: many } }, { maxAnnotations: 10 })).toBe('INPUT_TOO_COMPLEX');
    expect(codeOf({ json: {}, meta: { values: 'abc' } })).toBe('INPUT_TOO_COMPLEX');
    let deep: unknown = ['undefined'];
    for (let i = 0; i < 300; i++) deep = { a: deep };
    expect(codeOf({ json: {}, meta: { values: deep } })).toBe('INPUT_TOO_COMPLEX');
  });
});
