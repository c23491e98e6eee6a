/**
 * Writes a synthetic Kaggle "E-Commerce Data" file (see scripts/lib/retail-sample.ts).
 *   npm run sample                                  541,909 rows to data/data.csv, seed 1
 *   npm run sample -- --rows 10000 --out /tmp/a.csv --seed 7
 * Exit status 2 on bad arguments.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REAL_RETAIL_ROWS, writeRetailSample } from './lib/retail-sample';

export interface SampleArgs {
  readonly rows: number;
  readonly out: string;
  readonly seed: number;
}

export const DEFAULT_OUT = join(__dirname, '..', 'data', 'data.csv');
const USAGE = 'usage: npm run sample -- [--rows N] [--out PATH] [--seed S]';

/** A bad command line; its message says what is wrong and how to call the script. */
export class UsageError extends Error {}

function integer(option: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${option} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` ≥ ${min}` : ''}, got '${text}'\n${USAGE}`);
  }
  return value;
}

export function parseSampleArgs(argv: readonly string[]): SampleArgs {
  let values: { rows?: string; out?: string; seed?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { rows: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.out === '') throw new UsageError(`--out must not be empty\n${USAGE}`);
  return {
    rows: integer('rows', values.rows, REAL_RETAIL_ROWS, 1),
    out: resolve(values.out ?? DEFAULT_OUT),
    seed: integer('seed', values.seed, 1, Number.MIN_SAFE_INTEGER),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let args: SampleArgs;
  try {
    args = parseSampleArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    return 2;
  }
  const started = process.hrtime.bigint();
  mkdirSync(dirname(args.out), { recursive: true });
  const { rows, bytes } = await writeRetailSample(args);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.error(
    `sample: ${rows.toLocaleString('en-US')} rows, ${bytes.toLocaleString('en-US')} bytes → ${args.out} (seed ${args.seed}, ${seconds.toFixed(1)} s)`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
