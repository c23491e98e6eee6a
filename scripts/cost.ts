/**
 * npm run cost -- [--changes-per-day N] [--rows N] [...]: a monthly cost estimate of a deployment,
 * from cdk.json's `dynalake` configuration (with `--context dynalake.<key>=<value>` overrides, as
 * cdk takes them) and the unit prices of data/aws-unit-prices.json. The model is
 * scripts/cost/estimate.ts; this file parses, reads and prints.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynalakeError } from '../lambda/shared/errors';
import { ConfigError, configFromContext, type PipelineConfig } from '../lib/config';
import { integerOption, parseCommandLine, runCli } from './lib/cli';
import { textTable } from './lib/text-table';
import { type CostEstimate, DEFAULT_WORKLOAD, estimateMonthlyCost, formatNumber, parseUnitPrices, type UnitPrices, type Workload } from './cost/estimate';

/** The price file, beside the repository's other data. */
export const UNIT_PRICES_PATH = join(__dirname, '..', 'data', 'aws-unit-prices.json');

const HELP = `Usage: npm run cost -- [options]

Prints a monthly cost estimate of a deployment: Glue, Lambda, S3, DynamoDB Streams, CloudWatch
and Athena, one line each, at the on-demand prices of data/aws-unit-prices.json (us-east-1, the
date they were read is printed; free tiers not applied). The configuration is cdk.json's
\`dynalake\` context in the working directory; the assumptions are printed under the table.

Options
  --changes-per-day N     item changes a day on the orders table (default ${DEFAULT_WORKLOAD.changesPerDay.toLocaleString('en-US')}: the Kaggle
                          file's 541,909 rows over its 374 days); 0 for a lake that only refreshes
  --rows N                order rows in the lake (default ${DEFAULT_WORKLOAD.rows.toLocaleString('en-US')}, the Kaggle file)
  --run-minutes N         billed minutes of each Glue job run (default ${DEFAULT_WORKLOAD.jobRunMinutes}; Glue bills at least 1)
  --uploads-per-month N   files uploaded to raw/, one csv_to_dynamodb run each (default ${DEFAULT_WORKLOAD.uploadsPerMonth})
  --athena-queries N      Athena queries a month, each scanning the whole lake (default ${DEFAULT_WORKLOAD.athenaQueriesPerMonth})
  --context KEY=VALUE     a configuration override, as cdk takes it: dynalake.glueWorkerCount=4
                          (repeatable)
  -h, --help              this text

Example
  npm run cost -- --changes-per-day 0 --context dynalake.refreshSchedule="cron(0 6 * * ? *)"

Exit status: 0 done, 2 a bad option or configuration (the message names it), 1 anything else.`;

const OPTIONS = {
  'changes-per-day': { type: 'string' },
  rows: { type: 'string' },
  'run-minutes': { type: 'string' },
  'uploads-per-month': { type: 'string' },
  'athena-queries': { type: 'string' },
  context: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The configuration from cdk.json in the working directory (defaults without one), `--context` overrides on top. */
function configuration(overrides: readonly string[]): PipelineConfig {
  const path = resolve('cdk.json');
  const context: Record<string, unknown> = existsSync(path) ? ((JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> }).context ?? {}) : {};
  for (const override of overrides) {
    const separator = override.indexOf('=');
    if (separator <= 0) throw new DynalakeError('BAD_INVOCATION', `--context: ${JSON.stringify(override)} is not KEY=VALUE (expected e.g. dynalake.glueWorkerCount=4)`);
    context[override.slice(0, separator)] = override.slice(separator + 1);
  }
  try {
    return configFromContext({ tryGetContext: (key) => context[key], getAllContext: () => context });
  } catch (error) {
    if (error instanceof ConfigError) throw new DynalakeError('BAD_INVOCATION', error.message);
    throw error;
  }
}

/** The workload of the command line: each option a whole number, the defaults for the rest. */
export function workloadFromOptions(values: Partial<Record<'changes-per-day' | 'rows' | 'run-minutes' | 'uploads-per-month' | 'athena-queries', string>>): Workload {
  return {
    changesPerDay: integerOption('changes-per-day', values['changes-per-day'], 0) ?? DEFAULT_WORKLOAD.changesPerDay,
    rows: integerOption('rows', values.rows, 0) ?? DEFAULT_WORKLOAD.rows,
    jobRunMinutes: integerOption('run-minutes', values['run-minutes'], 1) ?? DEFAULT_WORKLOAD.jobRunMinutes,
    uploadsPerMonth: integerOption('uploads-per-month', values['uploads-per-month'], 0) ?? DEFAULT_WORKLOAD.uploadsPerMonth,
    athenaQueriesPerMonth: integerOption('athena-queries', values['athena-queries'], 0) ?? DEFAULT_WORKLOAD.athenaQueriesPerMonth,
  };
}

/** The price as the file states it: `$0.44 / DPU-hour`, `$0.20 / 1,000,000 requests`. */
function unitPrice(prices: UnitPrices, name: keyof UnitPrices['prices']): string {
  const { value, per, unit } = prices.prices[name];
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 })} / ${per === 1 ? '' : `${per.toLocaleString('en-US')} `}${unit.replace(/ \(.*\)$/, '')}`;
}

/** The estimate as printed: the table, the total, where the prices come from, the assumptions. */
export function formatEstimate(estimate: CostEstimate, prices: UnitPrices): string {
  const rows: Record<string, string>[] = estimate.lines.map((line) => ({
    service: line.service,
    line: line.item,
    quantity: formatNumber(line.quantity),
    unit: line.unit,
    'unit price': unitPrice(prices, line.price),
    'USD/month': formatNumber(line.usd),
  }));
  rows.push({ service: 'Total', line: '', quantity: '', unit: '', 'unit price': '', 'USD/month': formatNumber(estimate.totalUsd) });
  const table = textTable(['service', 'line', 'quantity', 'unit', 'unit price', 'USD/month'], rows, ['quantity', 'USD/month']);
  return [
    `Monthly cost estimate: USD ${formatNumber(estimate.totalUsd)} (${estimate.region}, prices read ${estimate.pricesRead}, data/aws-unit-prices.json)`,
    '',
    table,
    '',
    'Assumptions',
    ...estimate.assumptions.map((assumption) => `  - ${assumption}`),
  ].join('\n');
}

/** Reads and checks the price file. */
export function readUnitPrices(path = UNIT_PRICES_PATH): UnitPrices {
  return parseUnitPrices(JSON.parse(readFileSync(path, 'utf8')));
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine('npm run cost', () => parseArgs({ args: process.argv.slice(2), options: OPTIONS, strict: true, allowPositionals: true }));
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new DynalakeError('BAD_INVOCATION', `unexpected argument ${JSON.stringify(positionals.join(' '))} (see npm run cost -- --help)`);
  const workload = workloadFromOptions(values);
  const config = configuration(values.context ?? []);
  const prices = readUnitPrices();
  console.log(formatEstimate(estimateMonthlyCost(config, workload, prices), prices));
  return Promise.resolve(0);
}

if (require.main === module) runCli(main);
