/**
 * The processes' entry points and the compiled files scripts/build.ts makes of them in dist/ (ESM
 * bundles, `.mjs` so they run as modules wherever dist/ is copied). The Dockerfile, docker-compose.yml
 * and the local stack's compiled mode name these files.
 */
export const compiledEntries = {
  /** The edge on Node (HTTP API, web console); applies the database migrations at start. */
  edge: "edge/src/nodejs/main.ts",
  /** A processing node. */
  node: "node-worker/src/main.ts",
  /** A node's slot process (node-worker/src/slots/isolated-engine.ts forks it from beside node.mjs). */
  "slot-child": "node-worker/src/slots/slot-child.ts",
  /** The progress gateway. */
  gateway: "node-worker/gateway/src/main.ts",
  /** The `framewire` command line. */
  cli: "node-worker/cli/src/main.ts",
} as const;

export type CompiledEntry = keyof typeof compiledEntries;

export const compiledFile = (entry: CompiledEntry) => `${entry}.mjs`;
