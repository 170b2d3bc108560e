import { runConsumerConformance } from '@corbel/testing';
import { createMemoryConsumerPositions } from './consumer-positions.js';

runConsumerConformance('memory', {
  durable: false,
  create: async ({ ttlMs }) => ({
    positions: createMemoryConsumerPositions({ ttlMs }),
    cleanup: async () => {},
  }),
});
