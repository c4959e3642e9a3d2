import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "native/build/**"],
    // Native addons, uWebSockets.js and child servers behave best in separate processes.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores, and suites that start real servers, transcode real media and time watchdogs: one
    // file at a time keeps their timings honest (a starved machine is a different test).
    fileParallelism: false,
  },
});
