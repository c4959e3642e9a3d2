/**
 * The logging surface the edge needs. On Node it is pino; on Workers a JSON console logger with the
 * same shape, since pino's transports don't run there.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  /** Adds bindings to this logger itself (only ever called on a per-request child). */
  setBindings(bindings: Record<string, unknown>): void;
}

export function createConsoleLogger(bindings: Record<string, unknown> = {}): Logger {
  const write = (level: string) => (obj: object, msg?: string) => {
    const line = { level, time: Date.now(), ...bindings, ...serialise(obj), msg };
    console.log(JSON.stringify(line));
  };
  return {
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    debug: () => {},
    child: (more) => createConsoleLogger({ ...bindings, ...more }),
    setBindings: (more) => {
      bindings = { ...bindings, ...more };
    },
  };
}

function serialise(obj: object): object {
  const err = (obj as { err?: unknown }).err;
  if (err instanceof Error)
    return { ...obj, err: { message: err.message, stack: err.stack, name: err.name } };
  return obj;
}
