import { runSessionConformance } from '@corbel/testing';
import { createMemorySessions } from './session-registry.js';

runSessionConformance('memory', {
  durable: false,
  create: async ({ ttlMs }) => ({ sessions: createMemorySessions({ ttlMs }), cleanup: async () => {} }),
});
