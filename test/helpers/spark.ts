import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Whether the Spark suites can run: npm test makes .venv/ (scripts/test.sh) before Jest starts,
 * and says why when it cannot. Elsewhere the suites skip with that reason; under CI=true a Spark
 * suite that cannot run fails instead (a skip would hide what it checks).
 */
export const SPARK_UNAVAILABLE: string | undefined = existsSync(join(__dirname, '..', '..', '.venv', 'bin', 'python'))
  ? undefined
  : (process.env.DYNALAKE_SPARK_UNAVAILABLE ?? 'no .venv/ (bash scripts/python/setup.sh makes it)');

/** `describe` for a suite that needs the local Spark: see {@link SPARK_UNAVAILABLE}. */
export function describeWithSpark(name: string, suite: () => void): void {
  if (SPARK_UNAVAILABLE === undefined) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has the local Spark it needs (CI=true: a skip would hide these tests)', () => {
        throw new Error(`the local Spark cannot run: ${SPARK_UNAVAILABLE}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${SPARK_UNAVAILABLE})`, suite);
  }
}
