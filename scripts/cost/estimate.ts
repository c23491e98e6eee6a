/**
 * A monthly cost estimate of a dynalake deployment from its configuration and an assumed workload,
 * at the unit prices of data/aws-unit-prices.json. Pure: no AWS call, no file read (the prices
 * are given), so the tests can vary one input and watch one line move.
 *
 * The model is deliberately plain; every number it assumes is a named constant or a workload
 * field below, and {@link estimateMonthlyCost} returns them as text for the printed footer.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../lib/config';
import { cronStartsPerYear } from '../../lib/cron';
import { JOB_METRICS, STREAM_METRICS, UPLOAD_METRICS } from '../../lambda/shared/metrics';

const priceEntry = z.strictObject({ value: z.number().min(0), per: z.number().positive(), unit: z.string().min(1), source: z.url(), checked: z.string().min(1) });
const priceFileSchema = z.strictObject({
  about: z.string(),
  region: z.string(),
  currency: z.literal('USD'),
  read: z.iso.date(),
  prices: z.strictObject({
    glueEtlDpuHour: priceEntry,
    glueCrawlerDpuHour: priceEntry,
    lambdaRequests: priceEntry,
    lambdaArmGbSecond: priceEntry,
    s3StandardGbMonth: priceEntry,
    s3PutCopyPostListRequests: priceEntry,
    s3GetRequests: priceEntry,
    dynamodbStreamsReadsByLambda: priceEntry,
    cloudwatchCustomMetricMonth: priceEntry,
    cloudwatchStandardAlarmMonth: priceEntry,
    cloudwatchDashboardMonth: priceEntry,
    cloudwatchApiRequests: priceEntry,
    cloudwatchLogsIngestionGb: priceEntry,
    athenaTbScanned: priceEntry,
  }),
  billingRules: z.strictObject({
    glueJobMinimumSeconds: priceEntry,
    glueCrawlerMinimumSeconds: priceEntry,
    glueDpusPerWorker: priceEntry.extend({ value: z.strictObject({ 'G.1X': z.number(), 'G.2X': z.number(), 'G.4X': z.number(), 'G.8X': z.number() }) }),
    athenaMinimumMegabytesPerQuery: priceEntry,
  }),
});

/** The price file as the estimate reads it (data/aws-unit-prices.json). */
export type UnitPrices = z.output<typeof priceFileSchema>;
/** The name of a price in the file. */
export type PriceName = keyof UnitPrices['prices'];

/** Checks a parsed price file; throws naming the first field that is missing or malformed. */
export function parseUnitPrices(raw: unknown): UnitPrices {
  const result = priceFileSchema.safeParse(raw);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  throw new Error(`unit prices: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}

/** What the deployment is assumed to do in a month, besides what its configuration says. */
export interface Workload {
  /** Item changes a day (inserts, updates, deletes), all on the orders table; the campaign tables are assumed quiet. */
  readonly changesPerDay: number;
  /** Order rows in the lake (curated orders and the star schema built from them). */
  readonly rows: number;
  /** Billed minutes of each Glue job run (Glue bills at least its 1-minute minimum). */
  readonly jobRunMinutes: number;
  /** Files uploaded to raw/ a month, each one csv_to_dynamodb run. */
  readonly uploadsPerMonth: number;
  /** Athena queries a month, each assumed to scan the whole lake (at least Athena's minimum). */
  readonly athenaQueriesPerMonth: number;
}

/** The Kaggle "E-Commerce Data" file: 541,909 rows over 2010-12-01..2011-12-09 (374 days). */
export const KAGGLE_ROWS = 541_909;
const KAGGLE_DAYS = 374;

/** The defaults of `npm run cost`: the Kaggle file in the lake, and its rows spread over its days as the change rate. */
export const DEFAULT_WORKLOAD: Workload = {
  changesPerDay: Math.round(KAGGLE_ROWS / KAGGLE_DAYS), // 1,449
  rows: KAGGLE_ROWS,
  jobRunMinutes: 2,
  uploadsPerMonth: 1,
  athenaQueriesPerMonth: 0,
};

// Calendar: the average month, as cronStartsPerYear averages its year.
const DAYS_PER_MONTH = 365.25 / 12;
const HOURS_PER_MONTH = DAYS_PER_MONTH * 24;
const SECONDS_PER_DAY = 86_400;
const GIB = 2 ** 30;
const TIB = 2 ** 40;
const MIB = 2 ** 20;

/** BridgeFunction's default memory (512 MB), arm64. */
const LAMBDA_MEMORY_GB = 512 / 1024;
/** Assumed billed milliseconds per bridge invocation (S3 put + one Glue call; `npm run bench:bridges` puts the handler's own work at ~30 ms per 1,000 records). */
const BRIDGE_INVOCATION_MS = 200;
/** Lambda polls a DynamoDB stream shard 4 times a second (Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB"): with no batching window a batch closes at the next poll. */
const STREAM_POLL_SECONDS = 0.25;
/** Assumed log bytes per bridge invocation: Lambda's START/END/REPORT lines in JSON, two Powertools lines and the EMF line. */
const LOG_BYTES_PER_INVOCATION = 4 * 1024;
/** Assumed bytes of continuous logs per Glue job run (driver and executors, standard filter); not measured. */
const LOG_BYTES_PER_JOB_RUN = MIB;
/** Assumed DPUs of a crawler run: AWS sizes crawlers itself and publishes no figure. */
const CRAWLER_DPUS = 2;
/** Assumed wall minutes of a crawl of the lake tables or the DynamoDB tables (billed at the crawler minimum anyway). */
const CRAWL_MINUTES = 1;
/**
 * Measured: `npm start -- --rows 100000` (DuckDB twins, 2026-12-06) wrote 3,094,870 bytes of curated
 * orders Parquet and 709,997 bytes of star schema, 38.0 bytes a row; 296 day partitions (one file each).
 * Smaller files carry more Parquet overhead per row, so for the full file this is on the high side.
 */
const LAKE_BYTES_PER_ROW = (3_094_870 + 709_997) / 100_000;
const CURATED_DAY_PARTITIONS = 296;
/** Measured in the same run: 100 change objects of 1,000 INSERTs, 3,431,417 bytes gzipped: 34.3 bytes a record. */
const CHANGE_BYTES_PER_RECORD = 3_431_417 / 100_000;
/** Objects a sales_star_schema run writes (fact_sales and four dimensions, one file each, as measured). */
const STAR_SCHEMA_FILES = 5;

/** The Glue jobs a refresh workflow run starts (lib/stacks/pipeline-stack.ts: start → orders_to_lake, campaign_progress → sales_star_schema → lake crawler). */
export const WORKFLOW_JOBS = ['orders_to_lake', 'campaign_progress', 'sales_star_schema'] as const;
/** Streamed tables, each with its own stream-to-lake bridge. */
const STREAM_BRIDGES = 3;
/** The CDC-merge jobs, each watched by the freshness objective's two alarms (FreshnessAlarms). */
const MERGE_JOBS = 2;
/** The handlers: three stream bridges, the upload bridge and refresh-follow-up, each with its Errors and FailureQueueDepth alarms. */
const BRIDGES = STREAM_BRIDGES + 2;
/**
 * Alarms of a deployment: each bridge's Errors and FailureQueueDepth (BridgeFunction), each stream
 * bridge's IteratorAge (StreamToLake), the refresh schedule's dead letters and the failed upload
 * runs (PipelineStack), and each merge job's freshness and not-reporting alarms. A test counts them in the synthesized stacks.
 */
export const DEPLOYMENT_ALARMS = BRIDGES * 2 + STREAM_BRIDGES + 1 + MERGE_JOBS * 2 + 1;
/** The pipeline stack's PipelineDashboard. */
export const DEPLOYMENT_DASHBOARDS = 1;

/** Metric names each job publishes per run (glue-scripts/*.py publish_job_metrics), dimensions service + dataset. */
const JOB_METRIC_COUNTS = {
  orders_to_lake: Object.keys(JOB_METRICS).length, // dataset_to_lake: all eight
  campaign_progress: 6, // no RowsUpserted, RowsRemoved
  sales_star_schema: 3, // RowsRead, RowsWritten, RunDurationSeconds
  csv_to_dynamodb: 3, // RowsRead, RowsWritten, RunDurationSeconds
} as const;

/** One billed line: quantity × (price.value / price.per) = usd. */
export interface CostLine {
  readonly service: 'Glue' | 'Lambda' | 'S3' | 'DynamoDB Streams' | 'CloudWatch' | 'Athena';
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly price: PriceName;
  readonly usd: number;
}

/** The estimate: its lines, their total, the figures the lines come from and the assumptions. */
export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  readonly region: string;
  readonly pricesRead: string;
  readonly runs: { readonly scheduledPerMonth: number; readonly changeDrivenPerMonth: number; readonly streamBatchesPerDay: number };
  readonly assumptions: readonly string[];
}

/** Stream batches a day on one table: a batch closes at `streamBatchSize` records or when the batching window (at least one poll) ends, changes arriving evenly. */
export function streamBatchesPerDay(changesPerDay: number, config: Pick<PipelineConfig, 'streamBatchSize' | 'streamBatchingWindowSeconds'>): number {
  if (changesPerDay <= 0) return 0;
  const window = Math.max(config.streamBatchingWindowSeconds, STREAM_POLL_SECONDS);
  const recordsPerBatch = Math.min(config.streamBatchSize, Math.max(1, (changesPerDay / SECONDS_PER_DAY) * window));
  return changesPerDay / recordsPerBatch;
}

/** The monthly estimate of a deployment with `config` under `workload`, at `prices`. */
export function estimateMonthlyCost(config: PipelineConfig, workload: Workload, prices: UnitPrices): CostEstimate {
  const rules = prices.billingRules;
  const line = (service: CostLine['service'], item: string, quantity: number, unit: string, price: PriceName): CostLine => {
    const { value, per } = prices.prices[price];
    return { service, item, quantity, unit, price, usd: (quantity * value) / per };
  };

  // Runs. Scheduled starts, then the stream bridge's starts after batches; Glue refuses a start
  // while a run is going (the workflow runs one at a time), and refresh-follow-up starts the next
  // at its end when changes landed during it, so runs never exceed back-to-back runs of the chain.
  // orders_to_lake and campaign_progress side by side, then sales_star_schema, then the crawl.
  const runWallMinutes = 2 * workload.jobRunMinutes + CRAWL_MINUTES;
  const runsPerDayAtMost = (24 * 60) / runWallMinutes;
  const scheduledPerDay = Math.min(cronStartsPerYear(config.refreshSchedule) / 365.25, runsPerDayAtMost);
  const batchesPerDay = streamBatchesPerDay(workload.changesPerDay, config);
  const changeDrivenPerDay = Math.min(batchesPerDay, Math.max(0, runsPerDayAtMost - scheduledPerDay));
  const workflowRuns = (scheduledPerDay + changeDrivenPerDay) * DAYS_PER_MONTH;
  const sourceCrawls = cronStartsPerYear(config.catalogCrawlSchedule) / 12;

  // Glue: workers × DPUs per worker × billed hours (at least the minimum) per run.
  const dpus = config.glueWorkerCount * rules.glueDpusPerWorker.value[config.glueWorkerType];
  const jobHours = Math.max(workload.jobRunMinutes * 60, rules.glueJobMinimumSeconds.value) / 3600;
  const crawlHours = (CRAWLER_DPUS * Math.max(CRAWL_MINUTES * 60, rules.glueCrawlerMinimumSeconds.value)) / 3600;

  // Lambda: the orders bridge takes every batch; the upload bridge one event per upload;
  // refresh-follow-up the end of each job and crawl of every run (three jobs and the lake crawler).
  const streamInvocations = batchesPerDay * DAYS_PER_MONTH;
  const followUpInvocations = workflowRuns * (WORKFLOW_JOBS.length + 1);
  const invocations = streamInvocations + workload.uploadsPerMonth + followUpInvocations;
  const jobRuns = workflowRuns * WORKFLOW_JOBS.length + workload.uploadsPerMonth;

  // S3. Storage: the lake, and the change objects cdcRetentionDays keeps.
  const lakeBytes = workload.rows * LAKE_BYTES_PER_ROW;
  const liveChangeObjects = batchesPerDay * config.cdcRetentionDays;
  const changeBytes = workload.changesPerDay * config.cdcRetentionDays * CHANGE_BYTES_PER_RECORD;
  // Requests per workflow run. orders_to_lake lists cdc/ and reads its state, the new change
  // objects and the day partition they touch, then writes that partition and its state;
  // campaign_progress lists its two prefixes and reads its state; sales_star_schema reads every
  // curated file (footer and data) and writes the star schema; the lake crawler lists each partition.
  const newObjectsPerRun = workflowRuns > 0 ? streamInvocations / workflowRuns : 0;
  const ordersToLake = { putList: Math.ceil(liveChangeObjects / 1000) + 1 + 2, get: 1 + newObjectsPerRun + 1 };
  const campaignProgress = { putList: 2, get: 1 };
  const salesStarSchema = { putList: 1 + STAR_SCHEMA_FILES, get: 2 * CURATED_DAY_PARTITIONS };
  const lakeCrawl = { putList: CURATED_DAY_PARTITIONS + STAR_SCHEMA_FILES, get: 0 };
  const putListPerRun = ordersToLake.putList + campaignProgress.putList + salesStarSchema.putList + lakeCrawl.putList;
  const getPerRun = ordersToLake.get + campaignProgress.get + salesStarSchema.get + lakeCrawl.get;
  const putListRequests = workflowRuns * putListPerRun + streamInvocations + workload.uploadsPerMonth;
  const getRequests = workflowRuns * getPerRun + workload.uploadsPerMonth;

  // CloudWatch. A custom metric is billed by the hours it is published in: a series published
  // at least hourly is a whole metric-month, one published n times a month at most n/730 of one.
  const publishedShare = (publicationsPerMonth: number) => Math.min(1, publicationsPerMonth / HOURS_PER_MONTH);
  const metricMonths =
    Object.keys(STREAM_METRICS).length * publishedShare(streamInvocations) +
    Object.keys(UPLOAD_METRICS).length * publishedShare(workload.uploadsPerMonth) +
    (JOB_METRIC_COUNTS.orders_to_lake + JOB_METRIC_COUNTS.campaign_progress + JOB_METRIC_COUNTS.sales_star_schema) * publishedShare(workflowRuns) +
    JOB_METRIC_COUNTS.csv_to_dynamodb * publishedShare(workload.uploadsPerMonth);
  const logGb = (invocations * LOG_BYTES_PER_INVOCATION + jobRuns * LOG_BYTES_PER_JOB_RUN) / GIB;

  const athenaTb = (workload.athenaQueriesPerMonth * Math.max(lakeBytes, rules.athenaMinimumMegabytesPerQuery.value * MIB)) / TIB;

  const lines: CostLine[] = [
    line('Glue', `refresh jobs (${WORKFLOW_JOBS.join(', ')})`, workflowRuns * WORKFLOW_JOBS.length * dpus * jobHours, 'DPU-hours', 'glueEtlDpuHour'),
    line('Glue', 'csv_to_dynamodb (one run per upload)', workload.uploadsPerMonth * dpus * jobHours, 'DPU-hours', 'glueEtlDpuHour'),
    line('Glue', 'lake crawler (one crawl per workflow run)', workflowRuns * crawlHours, 'DPU-hours', 'glueCrawlerDpuHour'),
    line('Glue', 'DynamoDB crawler (catalogCrawlSchedule)', sourceCrawls * crawlHours, 'DPU-hours', 'glueCrawlerDpuHour'),
    line('Lambda', 'bridge requests (stream-to-lake, upload-to-glue, refresh-follow-up)', invocations, 'requests', 'lambdaRequests'),
    line('Lambda', 'bridge duration (arm64, 512 MB)', (invocations * BRIDGE_INVOCATION_MS * LAMBDA_MEMORY_GB) / 1000, 'GB-seconds', 'lambdaArmGbSecond'),
    line('S3', 'lake storage (curated orders + star schema)', lakeBytes / GIB, 'GB-months', 's3StandardGbMonth'),
    line('S3', `change objects in cdc/ (${config.cdcRetentionDays} days kept)`, changeBytes / GIB, 'GB-months', 's3StandardGbMonth'),
    line('S3', 'PUT and LIST requests (bridges, jobs, crawler)', putListRequests, 'requests', 's3PutCopyPostListRequests'),
    line('S3', 'GET requests (jobs)', getRequests, 'requests', 's3GetRequests'),
    line('DynamoDB Streams', 'GetRecords by the Lambda triggers', batchesPerDay * DAYS_PER_MONTH, 'reads', 'dynamodbStreamsReadsByLambda'),
    line('CloudWatch', 'custom metrics (bridges, jobs)', metricMonths, 'metric-months', 'cloudwatchCustomMetricMonth'),
    line('CloudWatch', 'alarms', DEPLOYMENT_ALARMS, 'alarm-months', 'cloudwatchStandardAlarmMonth'),
    line('CloudWatch', 'dashboards', DEPLOYMENT_DASHBOARDS, 'dashboard-months', 'cloudwatchDashboardMonth'),
    line('CloudWatch', 'PutMetricData (one per job run)', jobRuns, 'requests', 'cloudwatchApiRequests'),
    line('CloudWatch', 'logs ingested (bridges, Glue jobs)', logGb, 'GB', 'cloudwatchLogsIngestionGb'),
    line('Athena', 'queries over the lake', athenaTb, 'TB scanned', 'athenaTbScanned'),
  ];
  const totalUsd = lines.reduce((sum, { usd }) => sum + usd, 0);

  const assumptions = [
    `Month: ${DAYS_PER_MONTH.toFixed(2)} days. On-demand list prices in ${prices.region}, read ${prices.read}; free tiers NOT applied.`,
    `Changes: ${workload.changesPerDay.toLocaleString('en-US')} a day, all on the orders table, arriving evenly; a stream batch closes at streamBatchSize (${config.streamBatchSize}) records or after streamBatchingWindowSeconds (${config.streamBatchingWindowSeconds} s, at least one 0.25 s poll): ${formatNumber(batchesPerDay)} batches a day, each one Lambda invocation, one change object and one StartWorkflowRun.`,
    `Runs: refreshSchedule starts ${formatNumber(scheduledPerDay)} a day; a start while a run is going is refused and refresh-follow-up starts the next at its end, so runs are at most back-to-back: ${formatNumber(runsPerDayAtMost)} a day at ${formatNumber(runWallMinutes)} min a run (two job stages of ${workload.jobRunMinutes} min and a ${CRAWL_MINUTES}-min crawl).`,
    `Glue: ${config.glueWorkerCount} × ${config.glueWorkerType} = ${dpus} DPUs per job run, billed ${workload.jobRunMinutes} min (minimum ${rules.glueJobMinimumSeconds.value} s); crawls ${CRAWLER_DPUS} DPUs (assumed: AWS publishes no crawler size), billed at the ${rules.glueCrawlerMinimumSeconds.value / 60}-min minimum; ${workload.uploadsPerMonth} upload(s) a month.`,
    `Lambda: ${BRIDGE_INVOCATION_MS} ms billed per invocation at ${LAMBDA_MEMORY_GB * 1024} MB (assumed); the two quiet campaign bridges cost nothing.`,
    `S3: ${LAKE_BYTES_PER_ROW.toFixed(1)} lake bytes a row and ${CHANGE_BYTES_PER_RECORD.toFixed(1)} bytes a change record (measured with npm start -- --rows 100000); ${CURATED_DAY_PARTITIONS} day partitions read by each star-schema run; per-run request counts as in scripts/cost/estimate.ts. Not counted: Glue temp, Athena results, access-log objects, versions.`,
    `CloudWatch: a custom metric counts in full when published at least hourly, else pro rata (its publications / ${HOURS_PER_MONTH.toFixed(1)} h); bridges publish through EMF log lines (no API call); ${DEPLOYMENT_ALARMS} alarms; logs ${LOG_BYTES_PER_INVOCATION / 1024} KiB per invocation and ${LOG_BYTES_PER_JOB_RUN / MIB} MiB per Glue job run (assumed); log storage not counted.`,
    `Athena: ${workload.athenaQueriesPerMonth} queries a month, each scanning the whole lake (at least ${rules.athenaMinimumMegabytesPerQuery.value} MB).`,
    'Not counted: the DynamoDB tables themselves (writes, storage, PITR), SNS, SQS, EventBridge Scheduler, KMS, X-Ray traces, Glue Data Catalog (inside its free million), data transfer.',
  ];

  return {
    lines,
    totalUsd,
    region: prices.region,
    pricesRead: prices.read,
    runs: { scheduledPerMonth: scheduledPerDay * DAYS_PER_MONTH, changeDrivenPerMonth: changeDrivenPerDay * DAYS_PER_MONTH, streamBatchesPerDay: batchesPerDay },
    assumptions,
  };
}

/** A quantity as printed: thousands separators and two decimals, so every number reads the same way. */
export function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
