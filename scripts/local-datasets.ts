/**
 * npm run local:datasets -- [--assembly DIR] [--every SECONDS] [--state DIR] [--fresh] [--help]
 *
 * Also the package's command, dynalake-local (bin/dynalake-local.ts), with the same options.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { curatedTableName } from '../lib/dataset';
import { integerOption, optionsPrefix, parseCommandLine, runCli } from './lib/cli';
import { type AssemblyRuntime, startAssemblyRuntime } from './local/assembly-runtime';
import { counted } from './local/glue/job';

/** The help text, for the command as it was called (`npm run local:datasets` here, `dynalake-local` installed). */
export function localDatasetsUsage(command: string): string {
  return `${optionsPrefix(command)} [options]

Runs the datasets of a synthesized CDK app (yours or dynalake's: every LakeDataset of the
assembly in DIR, as cdk synth wrote it) on this machine: each table in an embedded DynamoDB, its
changes through the real stream-to-lake handler into an embedded S3, and the dataset's CDC merge
(the DuckDB twin of glue-scripts/dataset_to_lake.py) into its lake table. Prints where the
embedded DynamoDB and S3 listen, so any client can write to the tables (the AWS CLI with
--endpoint-url, your app); then streams and merges what changed, once or every N seconds.

Options:
  --assembly DIR   the cloud assembly to read the datasets from (default cdk.out)
  --every N        stream and merge every N seconds until Ctrl-C (default: once, then exit)
  --state DIR      state folder of the embedded DynamoDB and S3 (default .dynalake-datasets)
  --fresh          delete the state folder first
  --help           this text`;
}

/** One pass: every change since the last one through the handler, then each dataset's merge. */
async function pass(runtime: AssemblyRuntime): Promise<void> {
  const streamed = await runtime.stream();
  const runs = await runtime.refresh();
  for (const { dataset, records, objects } of streamed) {
    const jobName = runtime.datasets.find((entry) => entry.dataset.name === dataset)?.jobName;
    const results = runs.flatMap((run) => run.jobRuns).filter((jobRun) => jobRun.jobName === jobName).map((jobRun) => jobRun.result as { summary?: string; noop?: boolean } | undefined);
    // The run the handler started merges; the schedule's run after it usually finds nothing new.
    const merges = results.filter((result) => result?.noop !== true);
    const summary = (merges.length > 0 ? merges : results).map((result) => result?.summary ?? 'no summary').join('; then ') || 'no run';
    const table = curatedTableName({ name: dataset });
    const [row] = (await runtime.query(`SELECT count(*) AS n FROM ${table}`)).rows;
    console.log(`${dataset}: ${counted(records, 'change record')} → ${counted(objects, 'object')} in cdc/${dataset}/; merge: ${summary}; ${table}: ${counted(Number(row?.n ?? 0), 'row')}`);
  }
}

/** Options of {@link runAssemblyDatasets}. */
export interface AssemblyDatasetsOptions {
  /** The cloud assembly (cdk.out). */
  readonly assembly: string;
  /** Seconds between passes until Ctrl-C; one pass when absent. */
  readonly every?: number;
  /** State folder of the embedded DynamoDB and S3. */
  readonly stateDir: string;
  /** Delete the state folder first. */
  readonly fresh: boolean;
}

/** The datasets of an assembly on local parts: one pass, or one every `every` seconds until Ctrl-C (npm run local:datasets, npm start -- --assembly). */
export async function runAssemblyDatasets(options: AssemblyDatasetsOptions): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { every, stateDir } = options;
  if (options.fresh) rmSync(stateDir, { recursive: true, force: true });
  const runtime = await startAssemblyRuntime({ assemblyDir: resolve(options.assembly), stateDir });
  try {
    if (runtime.datasets.length === 0) throw new DynalakeError('BAD_INPUT', `${options.assembly}: no LakeDataset in this assembly (no Glue job with a --DATASET argument)`);
    console.log(`DynamoDB ${runtime.endpoints.dynamodb}, S3 ${runtime.endpoints.s3}; state in ${stateDir}`);
    for (const { dataset, table } of runtime.datasets) console.log(`${dataset.name}: table ${table.TableName}, lake table ${curatedTableName(dataset)}`);
    await pass(runtime);
    if (every === undefined) return 0;
    // Until Ctrl-C: a pass every N seconds, the one going finished before closing.
    const interrupt = { received: false };
    const stop = new Promise<void>((resolveStop) => process.once('SIGINT', () => {
      interrupt.received = true;
      resolveStop();
    }));
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stop, new Promise((resolveWait) => (timer = setTimeout(resolveWait, every * 1000)))]);
      clearTimeout(timer); // Ctrl-C ends the wait at once
      if (interrupt.received) break;
      await pass(runtime);
    }
    console.log('stopped');
    return 0;
  } finally {
    await runtime.close();
  }
}

/** The command line of `npm run local:datasets` and of the package's dynalake-local: `command` names it in messages. */
export async function localDatasetsMain(command: string, args: readonly string[]): Promise<number> {
  const { values } = parseCommandLine(command, () =>
    parseArgs({
      args: [...args],
      options: { assembly: { type: 'string' }, every: { type: 'string' }, state: { type: 'string' }, fresh: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    }),
  );
  if (values.help) {
    console.log(localDatasetsUsage(command));
    return 0;
  }
  return runAssemblyDatasets({ assembly: values.assembly ?? 'cdk.out', every: integerOption('every', values.every, 1), stateDir: resolve(values.state ?? '.dynalake-datasets'), fresh: values.fresh ?? false });
}

if (require.main === module) runCli(() => localDatasetsMain('npm run local:datasets', process.argv.slice(2)));
