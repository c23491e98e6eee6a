/**
 * What went wrong, as a code a CLI maps to its exit status in one place:
 * BAD_INVOCATION and BAD_INPUT are the caller's to fix (exit 2), LOAD_FAILED is the run's (exit 1),
 * INTERRUPTED is a clean stop on request (exit 130, like any Ctrl-C).
 */
export type ErrorCode = 'BAD_INVOCATION' | 'BAD_INPUT' | 'LOAD_FAILED' | 'INTERRUPTED';

/** An error whose message is meant for the user: it names the file, line and field where it can. */
export class DynalakeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DynalakeError';
  }
}

/** Exit status of a CLI for each error code. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  BAD_INVOCATION: 2,
  BAD_INPUT: 2,
  LOAD_FAILED: 1,
  INTERRUPTED: 130,
};
