import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../lambda/shared/errors';
import { DEFAULT_METRICS_NAMESPACE, JOB_METRIC_UNITS, type JOB_METRICS } from '../../../lambda/shared/metrics';

/** The name of a job metric. */
export type JobMetricName = (typeof JOB_METRICS)[keyof typeof JOB_METRICS];

/** What a local Glue twin runs with: the clients of the local services and its folders. */
export interface GlueTwinContext {
  /** S3 (s3rver): the twin reads and writes the buckets through it, as the job does. */
  readonly s3: S3Client;
  /** DynamoDB (dynalite): needed by the twins that write a table (csv_to_dynamodb). */
  readonly dynamodb?: DynamoDBClient;
  /** Scratch space; each run works in its own folder below it and removes it at the end. */
  readonly scratchDir: string;
  /** Progress lines for a human. @default - silent */
  readonly log?: (line: string) => void;
}

/**
 * A job run's arguments, named as the Glue job's DefaultArguments and StartJobRun Arguments
 * without the leading `--` (`LAKE_BUCKET`, `job-bookmark-option`, …). Arguments a twin does not
 * read (`TempDir`, `enable-metrics`, …) are ignored, so a job definition's arguments can be
 * passed straight through.
 */
export type JobArguments = Readonly<Record<string, string | undefined>>;

/** Every twin's result has one line for display; the counts beside it are the twin's own. */
export interface GlueTwinResult {
  readonly summary: string;
  /** The figures the run published (lambda/shared/metrics.ts JOB_METRICS): a Spark job's PutMetricData, kept by the local Glue, or a twin's own. */
  readonly metrics?: readonly JobMetric[];
}

/** One figure of a job run, as CloudWatch would hold it. */
export interface JobMetric {
  readonly namespace: string;
  readonly name: JobMetricName;
  readonly unit: 'Count' | 'Seconds';
  readonly value: number;
  /** The dimensions: `service` (the job) and `dataset`. */
  readonly service: string;
  readonly dataset: string;
}

/** The namespace a job publishes to: its METRICS_NAMESPACE argument (the jobs require it; a twin run by hand defaults to dynalake's). */
export function metricsNamespaceArgument(args: JobArguments): string {
  return args.METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE;
}

/** How old the newest change merged was at `now` (epoch seconds); 0 when nothing was merged (glue-scripts' lake_freshness_seconds). */
export function lakeFreshnessSeconds(newestChange: number | undefined, now: number): number {
  return newestChange === undefined ? 0 : Math.max(0, now - newestChange);
}

/** A job's figures as its script would publish them: one datum per figure, each by its unit. */
export function jobMetrics(namespace: string, service: string, dataset: string, figures: Partial<Record<JobMetricName, number>>): JobMetric[] {
  return Object.entries(figures).map(([name, value]) => ({ namespace, name: name as JobMetricName, unit: JOB_METRIC_UNITS[name as JobMetricName], value: value, service, dataset }));
}

/** The arguments `names`, each present and non-empty, or BAD_INVOCATION naming the missing ones. */
export function requireArguments<N extends string>(job: string, args: JobArguments, names: readonly N[]): Record<N, string> {
  const missing = names.filter((name) => (args[name] ?? '') === '');
  if (missing.length > 0) throw new DynalakeError('BAD_INVOCATION', `${job}: missing job argument${missing.length > 1 ? 's' : ''} ${missing.map((name) => `--${name}`).join(', ')}`);
  return Object.fromEntries(names.map((name) => [name, args[name] as string])) as Record<N, string>;
}

/** A log function that prefixes the job's name. */
export function jobLogger(context: GlueTwinContext, job: string): (line: string) => void {
  const log = context.log;
  return log === undefined ? () => undefined : (line) => log(`${job}: ${line}`);
}

/** Runs `work` in a fresh scratch folder for one run of `job`, removed afterwards whatever happens. */
export async function withScratch<T>(context: GlueTwinContext, job: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(context.scratchDir, `${job}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true });
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `n` with thousands separators, for summaries. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `n` and its noun, singular for one: `1 change object`, `2 change objects`. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${count(n)} ${n === 1 ? noun : plural}`;
}
