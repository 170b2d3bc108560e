import { defineWorkspace } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the
// `@corbel/source` export condition, so tests never need a build step.
const conditions = ['@corbel/source', 'import', 'module', 'node', 'default'];
const shared = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
};

export default defineWorkspace([
  {
    ...shared,
    test: {
      name: 'unit',
      include: ['packages/*/src/**/*.test.ts'],
      testTimeout: 20_000,
    },
  },
  {
    ...shared,
    test: {
      name: 'integration',
      include: ['tests/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
      globalSetup: ['tests/build-packages.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
    },
  },
]);
