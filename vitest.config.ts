import { defineConfig } from "vitest/config";

const exclude = ["**/node_modules/**", "native/build/**"];
// Suites that start heavy runtimes (workerd through wrangler) run after everything else, so they
// don't compete for the two cores with timing-sensitive tests (event-loop lag during a transcode).
const heavyRuntimes = ["edge/src/worker.int.test.ts"];

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
        test: { name: "main", include: ["**/*.test.ts"], exclude: [...exclude, ...heavyRuntimes] },
      },
      {
        extends: true,
        test: { name: "runtimes", include: heavyRuntimes, exclude, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
