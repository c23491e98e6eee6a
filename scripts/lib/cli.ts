import { DynalakeError, EXIT_CODES } from '../../lambda/shared/errors';

/**
 * Runs a CLI's main function and turns its outcome into an exit code, in one place:
 * DynalakeError codes map through EXIT_CODES with just the message (the user's to act on);
 * anything else is a bug, printed with its stack, exit 1.
 */
export function runCli(main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      if (error instanceof DynalakeError) {
        console.error(`${error.code === 'INTERRUPTED' ? 'stopped' : 'error'}: ${error.message}`);
        process.exitCode = EXIT_CODES[error.code];
      } else {
        console.error(error);
        process.exitCode = 1;
      }
    },
  );
}

/** What a command's options follow: `npm run x --` for an npm script, the command itself for an installed one. */
export function optionsPrefix(command: string): string {
  return command.startsWith('npm ') ? `${command} --` : command;
}

/** Runs a node:util parseArgs call, turning its errors into BAD_INVOCATION with a pointer to --help. */
export function parseCommandLine<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new DynalakeError('BAD_INVOCATION', `${(error as Error).message.split('\n')[0] ?? ''} (see ${optionsPrefix(command)} --help)`);
  }
}

/** Parses a whole number option, or fails naming the option. */
export function integerOption(name: string, value: string | undefined, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < minimum) {
    throw new DynalakeError('BAD_INVOCATION', `--${name}: ${JSON.stringify(value)} is not a whole number >= ${minimum}`);
  }
  return number;
}
