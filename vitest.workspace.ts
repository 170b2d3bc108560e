import { configDefaults, defineWorkspace } from 'vitest/config';

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
      exclude: [...configDefaults.exclude, 'tests/consumer/**'],
      globalSetup: ['tests/build-packages.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
    },
  },
  {
    // The packed packages installed into a fresh project (minutes of npm
    // install and a native build): run on its own after the other projects,
    // so its CPU load never skews their timing.
    ...shared,
    test: {
      name: 'consumer',
      include: ['tests/consumer/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 600_000,
      pool: 'forks',
    },
  },
]);
