import { afterEach } from 'vitest';

/**
 * For a conformance suite's `describe`: opens fixtures with the suite's
 * `create` and cleans up every one opened by a test after that test.
 *
 * @example
 * const open = fixtureOpener(async ({ ttlMs }) => ({ sessions: createMemorySessions({ ttlMs }), cleanup: async () => {} }), 60_000);
 * const { sessions } = await open();
 */
export function fixtureOpener<F extends { cleanup(): Promise<void> }>(
  create: (opts: { ttlMs: number }) => Promise<F>,
  defaultTtlMs: number,
): (ttlMs?: number) => Promise<F> {
  const fixtures: F[] = [];
  afterEach(async () => {
    for (const f of fixtures.splice(0)) await f.cleanup();
  });
  return async (ttlMs = defaultTtlMs) => {
    const f = await create({ ttlMs });
    fixtures.push(f);
    return f;
  };
}
