import { startEdgeServer } from "./server";

/** Entry: the edge as a Node process. Configuration comes from the environment (see README). */

// The database (webhook signing secrets) and every tenant's stored media: owner-only, whatever the
// umask the process was started with.
process.umask(0o077);
const edge = await startEdgeServer().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  edge.close().finally(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
// Started by the local stack with an IPC channel: stop when the launcher goes away.
process.once("disconnect", stop);
