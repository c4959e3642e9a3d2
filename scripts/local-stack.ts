import { resolve } from "node:path";
import { PortInUseError, repoRoot, startStack } from "./lib/stack";

/**
 * `npm start`: the all-in-one local stack. Every setting has a default and can be overridden by
 * environment variables; Ctrl-C stops every child process.
 */
const env = process.env;
const port = (name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    console.error(`${name}=${JSON.stringify(env[name])}: must be a port number (1-65535)`);
    process.exit(1);
  }
  return value;
};

const ports = {
  api: port("FW_API_PORT", 8080),
  gateway: port("FW_GATEWAY_PORT", 8081),
  nats: port("FW_NATS_PORT", 4222),
};
const dataDir = resolve(repoRoot, env.FW_DATA_DIR ?? ".data");
const engine = (env.FW_ENGINE ?? "auto") as "auto" | "native" | "wasm";

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({
    dataDir,
    ports,
    engine,
    output: "inherit",
    logLevel: env.FW_LOG_LEVEL ?? "info",
  });
} catch (error) {
  console.error(error instanceof PortInUseError ? error.message : `framewire: ${(error as Error).message}`);
  process.exit(1);
}

console.log(`
  Framewire is running.
    Console:   ${stack.apiUrl}/   (open it in a browser, paste the key)
    API:       ${stack.apiUrl}
    Progress:  ${stack.progressUrl}
    API key:   ${stack.apiKey.slice(0, 15)}… (an admin key: the whole of it is in ${resolve(dataDir, "local.json")})
  Ctrl-C stops everything.
`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  console.log("\n  Stopping Framewire…");
  stack.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

// If a child dies on its own, the stack is broken: say so and stop the rest.
for (const [name, child] of stack.processes) {
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`  ${name} exited (${signal ?? code}); stopping the stack.`);
    shutdown();
  });
}
