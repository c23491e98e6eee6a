/**
 * npm run seed -- [options]: loads the Kaggle "E-Commerce Data" CSV into the orders table, or
 * generated campaigns into user_Campaign and campaignInfo. The logic lives in scripts/seed/;
 * this file reads the command line, shows progress and maps the outcome to an exit code.
 */
import { existsSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { DynalakeError } from '../lambda/shared/errors';
import { integerOption, parseCommandLine, runCli } from './lib/cli';
import { loadCampaigns } from './seed/load-campaigns';
import { type LoadCounts, loadOrders } from './seed/load-orders';
import type { EncodingOption } from './seed/orders-source';
import { resolveTarget } from './seed/target';

const DEFAULT_FILE = 'data/data.csv';
const DEFAULT_LOCAL_DIR = '.dynalake/dynamodb';

const HELP = `Usage: npm run seed -- [options]

Loads the Kaggle "E-Commerce Data" CSV (UCI Online Retail) into the orders table.

Input
  --file PATH          the CSV (default ${DEFAULT_FILE})
  --encoding E         auto | latin1 | utf8 (default auto: BOM or valid UTF-8 → utf8, else latin1)
  --limit N            load only the first N data rows
  --dry-run            parse and validate only; write nothing
  --rejects PATH       where bad rows go (default <file>.rejects.csv); the checkpoint sits beside it
  --resume             continue an interrupted load from its checkpoint

Target (the first that applies)
  --local [DIR]        embedded DynamoDB persisted in DIR (default ${DEFAULT_LOCAL_DIR}), tables created
                       from the synthesized storage stack
  --table NAME         this table (with --endpoint/--region for any DynamoDB-compatible endpoint)
  --stack NAME         the table names in this deployed stack's outputs (DescribeStacks)
  --outputs PATH       the outputs file of \`cdk deploy --outputs-file\` (default cdk-outputs.json)
  --endpoint URL       DynamoDB endpoint
  --region REGION      AWS region

Load
  --concurrency N      BatchWriteItem requests in flight (default 16)
  --json               print the final summary as one JSON object on stdout

Generated campaigns instead of orders
  --dataset campaigns  write generated user_Campaign and campaignInfo items
  --users N            how many users (default 1000); --seed N for another deterministic data set

Exit status: 0 loaded (rejected rows allowed), 1 the load failed, 2 bad invocation or input,
130 stopped by Ctrl-C (rerun with --resume).`;

const OPTIONS = {
  file: { type: 'string' },
  encoding: { type: 'string' },
  limit: { type: 'string' },
  'dry-run': { type: 'boolean' },
  rejects: { type: 'string' },
  resume: { type: 'boolean' },
  local: { type: 'string' },
  table: { type: 'string' },
  stack: { type: 'string' },
  outputs: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  concurrency: { type: 'string' },
  json: { type: 'boolean' },
  dataset: { type: 'string' },
  users: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--local` takes an optional folder, which parseArgs cannot express: give it the default. */
function withLocalDefault(args: readonly string[]): string[] {
  return args.flatMap((arg, i) => (arg === '--local' && (args[i + 1] === undefined || args[i + 1]?.startsWith('--')) ? [arg, DEFAULT_LOCAL_DIR] : [arg]));
}

const number = (value: number) => value.toLocaleString('en-US');

/** Rows in the file, estimated from its size and the length of its first lines (for the ETA). */
function estimateRows(file: string, limit: number | undefined): number {
  if (limit !== undefined) return limit;
  // The real file averages ~84 bytes a row; a good enough ETA without reading it twice.
  return Math.max(1, Math.round(statSync(file).size / 84));
}

function progressReporter(file: string, limit: number | undefined, quiet: boolean) {
  if (quiet) return { update: (_counts: LoadCounts) => undefined, stop: () => undefined };
  const started = Date.now();
  const rate = (counts: LoadCounts) => Math.round(((counts.read - counts.skipped) * 1000) / Math.max(1, Date.now() - started));
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      stream: process.stderr,
      format: 'seed [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | {rejected} rejected | ETA {eta_formatted}',
      hideCursor: true,
    });
    bar.start(estimateRows(file, limit), 0, { rate: 0, rejected: 0 });
    let read = 0;
    return {
      update: (counts: LoadCounts) => {
        read = counts.read;
        if (read > bar.getTotal()) bar.setTotal(read);
        bar.update(read, { rate: rate(counts), rejected: counts.rejected });
      },
      stop: () => {
        // The total was an estimate; at the end the rows read are the total.
        bar.setTotal(Math.max(read, 1));
        bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update: (counts: LoadCounts) => {
      if (Date.now() - last < 5000) return;
      last = Date.now();
      console.error(`seed: ${number(counts.read)} rows read, ${number(counts.written)} written, ${number(counts.rejected)} rejected, ${number(counts.skipped)} skipped (${number(rate(counts))} rows/s)`);
    },
    stop: () => undefined,
  };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const { values } = parseCommandLine('npm run seed', () => parseArgs({ args: withLocalDefault(args), options: OPTIONS, strict: true }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const concurrency = integerOption('concurrency', values.concurrency, 1) ?? 16;
  const target = { table: values.table, stack: values.stack, outputsFile: values.outputs, endpoint: values.endpoint, region: values.region, local: values.local };

  if (values.dataset !== undefined && values.dataset !== 'orders') {
    if (values.dataset !== 'campaigns') throw new DynalakeError('BAD_INVOCATION', `--dataset: ${JSON.stringify(values.dataset)} is not a dataset (expected orders or campaigns)`);
    if (values.table !== undefined) throw new DynalakeError('BAD_INVOCATION', '--table names the orders table; campaigns go to the tables of --local, --stack or the outputs file');
    const users = integerOption('users', values.users, 1) ?? 1000;
    const resolved = await resolveTarget(target);
    try {
      const { userCampaign, campaignInfo } = resolved.tables;
      if (userCampaign === undefined || campaignInfo === undefined) throw new DynalakeError('BAD_INVOCATION', `${resolved.description} names no user_Campaign and campaignInfo tables`);
      const summary = await loadCampaigns({ client: resolved.client, userCampaignTable: userCampaign, campaignInfoTable: campaignInfo, users, seed: integerOption('seed', values.seed, 0), concurrency });
      if (values.json) console.log(JSON.stringify(summary));
      else {
        console.error(
          `seed: ${number(summary.campaigns)} campaigns (${number(summary.tasks)} tasks) and ${number(summary.userCampaigns)} user campaigns ` +
            `(${number(summary.emptyProgress)} with no progress, ${number(summary.orphanTasks)} progress entries on unlisted tasks) written to ${resolved.description} in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
        );
      }
      return 0;
    } finally {
      await resolved.close();
    }
  }

  const file = values.file ?? DEFAULT_FILE;
  if (!existsSync(file)) {
    throw new DynalakeError(
      'BAD_INVOCATION',
      `${file}: no such file. Download the Kaggle "E-Commerce Data" set (https://www.kaggle.com/datasets/carrie1/ecommerce-data), unzip data.csv to ${DEFAULT_FILE}, ` +
        `or generate a synthetic one: npm run sample -- --out ${DEFAULT_FILE}. A real 1,071-row sample ships as data/sample/online-retail-sample.csv.`,
    );
  }
  const encoding = (values.encoding ?? 'auto') as EncodingOption;
  if (!['auto', 'latin1', 'utf8'].includes(encoding)) throw new DynalakeError('BAD_INVOCATION', `--encoding: ${JSON.stringify(encoding)} is not auto, latin1 or utf8`);
  const limit = integerOption('limit', values.limit, 1);

  const dryRun = values['dry-run'] ?? false;
  // A dry run needs no table; it only reads the file.
  const resolved = dryRun ? undefined : await resolveTarget(target);
  const tableName = dryRun ? '(dry run)' : resolved?.tables.orders;
  if (tableName === undefined) throw new DynalakeError('BAD_INVOCATION', `${resolved?.description ?? 'the target'} names no orders table`);

  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
    console.error('\nseed: stopping after the batches in flight (Ctrl-C again to quit at once)…');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = progressReporter(file, limit, values.json === true && !process.stderr.isTTY);
  try {
    const summary = await loadOrders({
      file,
      tableName,
      client: resolved?.client ?? { send: () => Promise.reject(new Error('a dry run writes nothing')) },
      encoding,
      concurrency,
      limit,
      dryRun,
      rejectsPath: values.rejects,
      resume: values.resume,
      signal: abort.signal,
      onProgress: progress.update,
      progressEveryMs: 200,
    });
    progress.stop();
    const { read, written, rejected, skipped, valid } = summary;
    if (values.json) {
      const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      console.log(JSON.stringify({ read, written, rejected, skipped, elapsedMs: summary.elapsedMs, rowsPerSecond: summary.rowsPerSecond, valid, dryRun, table: summary.table, encoding: summary.encoding, rejectsPath: summary.rejectsPath, requests: summary.requests, retries: summary.retries, peakRssMb }));
    }
    const accounted = dryRun
      ? `read ${number(read)} = valid ${number(valid)} + rejected ${number(rejected)} (dry run: nothing written)`
      : `read ${number(read)} = written ${number(written)} + rejected ${number(rejected)}${skipped > 0 ? ` + skipped ${number(skipped)} (done before the resume)` : ''}`;
    console.error(`seed: ${accounted} in ${(summary.elapsedMs / 1000).toFixed(1)} s, ${number(summary.rowsPerSecond)} rows/s, ${summary.encoding}`);
    if (!dryRun) console.error(`seed: into ${resolved?.description ?? tableName} (${tableName}); ${number(summary.requests)} BatchWriteItem calls, ${number(summary.retries)} retried`);
    if (rejected > 0) console.error(`seed: rejected rows, with line, field and reason: ${relative(process.cwd(), summary.rejectsPath)}`);
    return 0;
  } catch (error) {
    progress.stop();
    if (error instanceof DynalakeError && (error.code === 'INTERRUPTED' || error.code === 'LOAD_FAILED')) {
      const resume = ['npm run seed --', ...args.filter((arg) => arg !== '--resume'), '--resume'].join(' ');
      throw new DynalakeError(error.code, `${error.message}\nresume with: ${resume}`);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await resolved?.close();
  }
}

if (require.main === module) runCli(main);

