import { runStoreConformance } from '@corbel/testing';
import { createMemoryLog } from './memory-log.js';

runStoreConformance('memory', {
  durable: false,
  create: async ({ retention }) => {
    const log = createMemoryLog({ retention });
    return { log, cleanup: () => log.close() };
  },
});
