import { startEdgeServer } from "./server";

/** Entry: the edge as a Node process. Configuration comes from the environment (see README). */
const edge = await startEdgeServer().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    edge.close().finally(() => process.exit(0));
  });
}
