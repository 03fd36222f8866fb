import { defineConfig } from 'vitest/config';

/**
 * Test files that start tor processes (a private Tor network, an onion service, Onionbalance):
 * they run one at a time, after every other file, because tor's circuits and descriptor fetches
 * time out on two cores that other test files keep busy (seen in CI). Every other file runs two
 * at a time (most wait on child processes).
 */
const TOR_FILES = [
  'test/e2e/cli-tor.test.ts',
  'test/e2e/forward-secrecy.test.ts',
  'test/e2e/observer.test.ts',
  'test/e2e/onionbalance*.test.ts',
  'test/integration/client-tor.test.ts',
  'test/integration/operator-onion.test.ts',
  'test/integration/tor-network.test.ts',
  'test/unit/cli-tor-transport.test.ts',
];

export default defineConfig({
  test: {
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    // One file at a time: two at once made timing-sensitive tests flake on two cores (CI, 2026-12-03).
    maxWorkers: 1,
    projects: [
      {
        extends: true,
        test: {
          name: 'tor',
          include: TOR_FILES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'other',
          include: ['test/**/*.test.ts'],
          exclude: TOR_FILES,
          fileParallelism: false,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
