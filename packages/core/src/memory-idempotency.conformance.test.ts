import { runIdempotencyConformance } from '@corbel/testing';
import { createMemoryIdempotency } from './idempotency.js';

runIdempotencyConformance('memory', {
  durable: false,
  create: async ({ ttlMs }) => ({ store: createMemoryIdempotency({ ttlMs }), cleanup: async () => {} }),
});
