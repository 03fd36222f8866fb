import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one fork per core but one: a single fork on a 2-core machine. Most
    // files wait on Tor, sockets and child processes, not the CPU, so two run side by side.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
