import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "native/build/**"],
    // Native addons, uWebSockets.js and child servers behave best in separate processes.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: integration suites start real servers and transcode real media.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
