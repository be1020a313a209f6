import { defineConfig } from 'vitest/config';

// One config for the whole workspace: unit tests live next to each package (`*/test`), cross-service
// tests in `test/`. Workspace packages resolve to their TypeScript sources via the `source` condition.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
