import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type PipelineConfigInput } from '../../lib/config';
import { formatEstimate, readUnitPrices, UNIT_PRICES_PATH, workloadFromOptions } from '../../scripts/cost';
import { type CostEstimate, DEFAULT_WORKLOAD, DEPLOYMENT_ALARMS, DEPLOYMENT_DASHBOARDS, estimateMonthlyCost, streamBatchesPerDay, type Workload } from '../../scripts/cost/estimate';
import { buildStacks } from '../helpers/cdk-app';
import { TYPESCRIPT_HOOK } from '../helpers/cli';

const ROOT = join(__dirname, '..', '..');
const prices = readUnitPrices();
const estimate = (config: PipelineConfigInput = {}, workload: Partial<Workload> = {}): CostEstimate => estimateMonthlyCost(parseConfig(config), { ...DEFAULT_WORKLOAD, ...workload }, prices);
const lineOf = (result: CostEstimate, item: string) => {
  const found = result.lines.find((line) => line.item.startsWith(item));
  if (found === undefined) throw new Error(`no line ${item}`);
  return found;
};
const glueJobsUsd = (result: CostEstimate) => result.lines.filter((line) => line.service === 'Glue' && line.price === 'glueEtlDpuHour').reduce((sum, line) => sum + line.usd, 0);

function runCost(args: readonly string[]) {
  return spawnSync(process.execPath, [...TYPESCRIPT_HOOK, 'scripts/cost.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('estimateMonthlyCost', () => {
  it('counts the alarms and dashboards the stacks synthesize', () => {
    const { storage, pipeline } = buildStacks();
    const count = (type: string) => [storage, pipeline].reduce((sum, stack) => sum + Object.keys(Template.fromStack(stack).findResources(type)).length, 0);
    expect([DEPLOYMENT_ALARMS, DEPLOYMENT_DASHBOARDS]).toEqual([count('AWS::CloudWatch::Alarm'), count('AWS::CloudWatch::Dashboard')]);
  });

  it('doubles the Glue job lines when the worker count doubles', () => {
    const two = estimate({ glueWorkerCount: 2 });
    const four = estimate({ glueWorkerCount: 4 });
    expect(glueJobsUsd(four)).toBeCloseTo(2 * glueJobsUsd(two), 9);
    // The crawlers are sized by AWS, not by the jobs' workers.
    expect(lineOf(four, 'lake crawler').usd).toBeCloseTo(lineOf(two, 'lake crawler').usd, 9);
  });

  it('bills a G.2X worker as two DPUs', () => {
    expect(glueJobsUsd(estimate({ glueWorkerType: 'G.2X' }))).toBeCloseTo(2 * glueJobsUsd(estimate({ glueWorkerType: 'G.1X' })), 9);
  });

  it('schedules 4× the runs of the hourly default when the refresh runs every 15 minutes', () => {
    const hourly = estimate({}, { changesPerDay: 0 });
    const quarterly = estimate({ refreshSchedule: 'cron(0/15 * * * ? *)' }, { changesPerDay: 0 });
    expect(hourly.runs.scheduledPerMonth).toBeCloseTo(24 * (365.25 / 12), 6);
    expect(quarterly.runs.scheduledPerMonth).toBeCloseTo(4 * hourly.runs.scheduledPerMonth, 6);
    expect(lineOf(quarterly, 'refresh jobs').quantity).toBeCloseTo(4 * lineOf(hourly, 'refresh jobs').quantity, 6);
  });

  it('invokes the stream bridge 0 times and starts no change-driven run with --changes-per-day 0', () => {
    const quiet = estimate({}, { changesPerDay: 0 });
    expect(quiet.runs.changeDrivenPerMonth).toBe(0);
    expect(lineOf(quiet, 'GetRecords').quantity).toBe(0);
    // Only the upload bridge's one invocation a month is left, and refresh-follow-up's four per scheduled run (three jobs and the crawl).
    expect(lineOf(quiet, 'bridge requests').quantity).toBeCloseTo(DEFAULT_WORKLOAD.uploadsPerMonth + ((24 * 365.25) / 12) * 4, 6);
  });

  it('never runs the workflow more often than back to back, however many batches arrive', () => {
    const busy = estimate({ streamBatchingWindowSeconds: 0 }, { changesPerDay: 1_000_000, jobRunMinutes: 2 });
    const runsPerDay = (busy.runs.scheduledPerMonth + busy.runs.changeDrivenPerMonth) / (365.25 / 12);
    expect(runsPerDay).toBeCloseTo((24 * 60) / (2 * 2 + 1), 6);
  });

  it('closes a batch at the batch size or the window, whichever comes first', () => {
    const config = { streamBatchSize: 100, streamBatchingWindowSeconds: 30 };
    expect(streamBatchesPerDay(0, config)).toBe(0);
    // 2,880 changes a day = one every 30 s: one record per window.
    expect(streamBatchesPerDay(2_880, config)).toBeCloseTo(2_880, 6);
    // 864,000 a day = 10 a second: 300 per window, cut at 100.
    expect(streamBatchesPerDay(864_000, config)).toBeCloseTo(8_640, 6);
  });

  it('prints DynamoDB Streams reads at 0 USD: Lambda triggers read for free', () => {
    const line = lineOf(estimate(), 'GetRecords');
    expect(line.quantity).toBeGreaterThan(0);
    expect(line.usd).toBe(0);
  });

  it('makes each line its quantity times its unit price from the price file, and the total their sum', () => {
    const result = estimate({ glueWorkerType: 'G.4X' }, { athenaQueriesPerMonth: 100 });
    for (const line of result.lines) {
      const { value, per } = prices.prices[line.price];
      expect(line.usd).toBeCloseTo(line.quantity * (value / per), 9);
    }
    expect(result.totalUsd).toBeCloseTo(result.lines.reduce((sum, line) => sum + line.usd, 0), 9);
    expect(lineOf(result, 'queries').usd).toBeGreaterThan(0);
  });

  it('grows the lake storage line with the rows', () => {
    expect(lineOf(estimate({}, { rows: 2 * DEFAULT_WORKLOAD.rows }), 'lake storage').quantity).toBeCloseTo(2 * lineOf(estimate(), 'lake storage').quantity, 9);
  });
});

describe('data/aws-unit-prices.json', () => {
  const raw = JSON.parse(readFileSync(UNIT_PRICES_PATH, 'utf8')) as { read: string; region: string; prices: Record<string, { source: string; checked: string }>; billingRules: Record<string, { source: string; checked: string }> };

  it('has the date the prices were read and their region', () => {
    expect(raw.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(raw.region).toBe('us-east-1');
  });

  it('gives every price and billing rule an AWS source page and says where it was checked', () => {
    const entries = Object.entries({ ...raw.prices, ...raw.billingRules });
    expect(entries.length).toBeGreaterThan(10);
    for (const [, entry] of entries) {
      expect(entry.source).toMatch(/^https:\/\/(aws\.amazon\.com|docs\.aws\.amazon\.com)\//);
      expect(entry.checked.length).toBeGreaterThan(20);
    }
  });
});

describe('npm run cost', () => {
  it('takes whole numbers for its options', () => {
    expect(workloadFromOptions({ 'changes-per-day': '0', rows: '10' })).toMatchObject({ changesPerDay: 0, rows: 10, jobRunMinutes: DEFAULT_WORKLOAD.jobRunMinutes });
    expect(() => workloadFromOptions({ rows: 'many' })).toThrow('--rows: "many" is not a whole number >= 0');
    expect(() => workloadFromOptions({ 'run-minutes': '0' })).toThrow('--run-minutes: "0" is not a whole number >= 1');
  });

  it('prints the table with a total, the prices’ date and region, and the assumptions', () => {
    const text = formatEstimate(estimate(), prices);
    expect(text).toContain(`us-east-1, prices read ${prices.read}`);
    expect(text).toMatch(/^Total +[\d,]+\.\d\d$/m);
    expect(text).toContain('free tiers NOT applied');
  });

  it('prints the estimate of the default configuration as a child process, exit 0', () => {
    const result = runCost(['--changes-per-day', '0']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const expected = estimateMonthlyCost(parseConfig({ stage: 'dev' }), { ...DEFAULT_WORKLOAD, changesPerDay: 0 }, prices);
    expect(result.stdout).toContain(`Monthly cost estimate: USD ${expected.totalUsd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
  });

  it('refuses a bad option value, naming the option and the expected form (exit 2, the BAD_INVOCATION status)', () => {
    const result = runCost(['--changes-per-day=-3']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('error: --changes-per-day: "-3" is not a whole number >= 0');
    const unknown = runCost(['--change-per-day', '3']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--change-per-day'");
    expect(unknown.stderr).toContain('see npm run cost -- --help');
  });

  it('refuses an invalid configuration override, naming the key', () => {
    const result = runCost(['--context', 'dynalake.glueWorkerCount=1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('dynalake.glueWorkerCount: "1" is not a worker count');
  });
});

describe('README', () => {
  it('shows the estimate npm run cost prints for the default configuration', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const [, block] = /<!-- cost-estimate:start[^\n]*\n```\n([\s\S]*?)```\n<!-- cost-estimate:end -->/.exec(readme) ?? [];
    expect(block).toBe(`${formatEstimate(estimateMonthlyCost(parseConfig({ stage: 'dev' }), DEFAULT_WORKLOAD, prices), prices)}\n`);
  });
});
