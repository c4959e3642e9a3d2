import { resolve } from "node:path";
import { type LocalStackSettings, parseLocalStackSettings } from "./lib/local-stack-settings";
import { PortInUseError, repoRoot, startStack } from "./lib/stack";

/**
 * `npm start`: the all-in-one local stack. Every setting has a default and can be overridden by
 * environment variables; Ctrl-C stops every child process.
 */
let settings: LocalStackSettings;
try {
  settings = parseLocalStackSettings(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const ports = { api: settings.FW_API_PORT, gateway: settings.FW_GATEWAY_PORT, nats: settings.FW_NATS_PORT };
const dataDir = resolve(repoRoot, settings.FW_DATA_DIR);

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({
    dataDir,
    ports,
    engine: settings.FW_ENGINE,
    output: "inherit",
    logLevel: settings.FW_LOG_LEVEL,
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
