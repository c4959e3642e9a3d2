import { defineConfig } from "vitest/config";

const exclude = ["**/node_modules/**", "native/build/**", "native/build-asan/**"];
/** Starts workerd through wrangler: runs last, so it doesn't compete for the cores with timing-sensitive tests. */
const workers = "test/e2e/workers.e2e.test.ts";

/**
 * Tiers, named by suffix (see README, Tests): `npm run test:unit` runs the fast ones alone,
 * `test:int` those that start a real server (nats-server, libSQL, the S3 server) or the engine,
 * `test:e2e` the cross-process suites in test/ (end to end, fleet faults, the browser, workerd).
 * `npm test` runs them all, in that order.
 */
export default defineConfig({
  test: {
    // Native addons, uWebSockets.js and child servers behave best in separate processes.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores, and suites that start real servers, transcode real media and time watchdogs: one
    // file at a time keeps their timings honest (a starved machine is a different test).
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...exclude, "**/*.int.test.ts", "test/{e2e,fault,browser}/**"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "integration", include: ["**/*.int.test.ts"], exclude, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/{e2e,fault,browser}/**/*.test.ts"],
          exclude: [...exclude, workers],
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: { name: "workers", include: [workers], exclude, sequence: { groupOrder: 3 } },
      },
    ],
  },
});
