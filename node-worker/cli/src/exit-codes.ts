/** Exit codes scripts can rely on (documented in the README). */
export const exitCodes = {
  ok: 0,
  /** The job ended failed or canceled. */
  jobFailed: 1,
  /** `framewire doctor` found a problem. */
  problemsFound: 1,
  /** Bad command line. */
  usage: 2,
  /** The API refused the request (auth, validation, not found). */
  apiRefused: 3,
  /** The API could not be reached. */
  unreachable: 4,
  /** Interrupted (Ctrl-C); the job was asked to cancel. */
  interrupted: 130,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
