import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The binaries of the project's Python environment (scripts/python/setup.sh). */
export const VENV_BIN = join(__dirname, '..', '..', '.venv', 'bin');

/**
 * Whether the suites that need .venv/ (the local Spark, cfn-lint) can run: npm test makes it
 * (scripts/test.sh) before Jest starts, and says why when it cannot. Elsewhere those suites skip
 * with that reason; under CI=true a suite that cannot run fails instead (a skip would hide what it
 * checks). setup.sh installs every pin at once, so one check covers them all.
 */
export const SPARK_UNAVAILABLE: string | undefined = existsSync(join(VENV_BIN, 'python'))
  ? undefined
  : (process.env.DYNALAKE_SPARK_UNAVAILABLE ?? 'no .venv/ (bash scripts/python/setup.sh makes it)');

/** `describe` for a suite that needs a tool of .venv/: see {@link SPARK_UNAVAILABLE}. */
export function describeWithVenv(name: string, suite: () => void): void {
  if (SPARK_UNAVAILABLE === undefined) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has the Python environment it needs (CI=true: a skip would hide these tests)', () => {
        throw new Error(`.venv/ is missing: ${SPARK_UNAVAILABLE}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${SPARK_UNAVAILABLE})`, suite);
  }
}

/** `describe` for a suite that needs the local Spark: see {@link SPARK_UNAVAILABLE}. */
export const describeWithSpark = describeWithVenv;
