/**
 * Exit codes of `lockbox` (docs/cli.md): scripts branch on them, so they never change meaning.
 */
export const EXIT = {
  ok: 0,
  /** A fault of the command line itself (a bug): `--debug` shows the stack. */
  internal: 1,
  /** Bad usage: unknown flag, missing or malformed value, unreadable input file. */
  usage: 2,
  /** The API refused the call (a 4xx other than authentication: validation, forbidden, not found, conflict). */
  refused: 3,
  /** The endpoint cannot be reached, or answered with a server error (5xx) after retries. */
  unavailable: 4,
  /** No usable credentials: none found, expired, or not accepted by the endpoint. */
  credentials: 5,
  /** `audit verify`: the ledger does not verify (something was changed, removed or inserted). */
  tampered: 6,
  /** The request is not (or no longer) in the state the command needs (`request wait`, `credentials`). */
  wrongState: 7,
  /** `request wait --timeout` ran out. */
  timeout: 8,
} as const;
type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the user can act on: printed as one line on stderr, then the process exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Shown with `--debug` only (the API's `details`, the HTTP status, the cause). */
    readonly debug?: unknown,
  ) {
    super(message);
  }
}

export const usage = (message: string): CliError => new CliError(EXIT.usage, message);
