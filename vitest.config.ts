import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (pure logic, no servers), `integration` (a real Temporal server and a
 * real MongoDB-wire server, provisioned once per run by test/support/global-setup.ts) and `chaos`
 * (the shortened `npm run chaos`, which starts and kills servers of its own, so it overlaps with
 * the rest).
 */
export default defineConfig({
  test: {
    /**
     * Test files run side by side in this many processes (Vitest 3 takes the count for the whole
     * run, not per project). Left to itself Vitest would use one fewer than the CPUs: a single
     * file at a time on a 2-core machine, while most of an integration file's time is spent
     * waiting on the servers.
     */
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Key generation and a whole-tree lint take seconds while the chaos run shares the cores.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 300_000,
          pool: 'forks',
          // A workflow, a webhook or a channel notification takes seconds on a loaded machine,
          // not Vitest's default second; a poll that succeeds returns at once whatever the limit.
          expect: { poll: { timeout: 15_000, interval: 50 } },
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          testTimeout: 900_000,
          pool: 'forks',
        },
      },
    ],
  },
});
