import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Parallel implementations share a skeleton (STYLE.md, habit 5): every store
 * package has the same files for the same jobs, and translates its driver's
 * errors in one `toCorbelError`.
 */
const STORES = ['sqlite', 'redis'] as const;
const PARTS = ['store', 'log', 'sessions', 'errors', 'idempotency', 'consumers'] as const;
const root = new URL('../../packages/', import.meta.url);

describe('store packages share one skeleton', () => {
  for (const store of STORES) {
    it(`@corbel/store-${store} has ${PARTS.map((p) => `${store}-${p}.ts`).join(', ')}`, () => {
      for (const part of PARTS) {
        const source = readFileSync(new URL(`store-${store}/src/${store}-${part}.ts`, root), 'utf8');
        expect(source.length, `${store}-${part}.ts`).toBeGreaterThan(0);
      }
      const errors = readFileSync(new URL(`store-${store}/src/${store}-errors.ts`, root), 'utf8');
      expect(errors).toMatch(/export function toCorbelError\(/);
      expect(errors.match(/export function toCorbelError\(/g)).toHaveLength(1);
    });
  }
});
