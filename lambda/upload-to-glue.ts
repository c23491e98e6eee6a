import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConcurrentRunsExceededException, GlueClient, StartJobRunCommand } from '@aws-sdk/client-glue';
import type { Context, S3Event } from 'aws-lambda';
import { requiredEnvironment } from './shared/environment';
import { DATASET_NAME, UPLOAD_FILTER, type UploadFilter } from './shared/layout';
import { BRIDGE_STAGES, DATASET_DIMENSION, metricsNamespaceOf, UPLOAD_METRICS } from './shared/metrics';
import { type CreatedObject, createdObject, type SkipReason } from './shared/s3-event';

/**
 * upload-to-glue: an uploaded `raw/*.csv` → one run of the csv_to_dynamodb Glue job for it.
 *
 * S3 delivers notifications at least once; a second delivery of one object version finds its
 * idempotency record and starts nothing (the record keeps the first run's id).
 */


/** How StartJobRun is retried while Glue answers ConcurrentRunsExceeded or throttles. */
export interface StartRetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Ample for a job that allows several concurrent runs: about a minute of waiting at most, within the function's timeout. */
export const DEFAULT_START_RETRY: StartRetryPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 20_000 };

/** What the handler needs; the Lambda entry builds it from its environment, tests and local mode pass their own. */
export interface UploadToGlueDependencies {
  readonly glue: GlueClient;
  readonly logger: Logger;
  /** Where each event's figures go (UPLOAD_METRICS), published as one EMF line when the event is handled. */
  readonly metrics: Metrics;
  /** Where idempotency records are kept. */
  readonly persistenceStore: BasePersistenceLayer;
  /** The csv_to_dynamodb job. */
  readonly jobName: string;
  /** The table the job loads. */
  readonly targetTableName: string;
  /** The uploads that start a run (the construct's prefix and suffix); records outside it are skipped. @default UPLOAD_FILTER */
  readonly filter?: UploadFilter;
  /** @default DEFAULT_START_RETRY */
  readonly retry?: StartRetryPolicy;
  /** @default setTimeout */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** What became of each record of an event. */
export interface UploadEventResult {
  readonly started: readonly { readonly bucket: string; readonly key: string; readonly version: string; readonly jobRunId: string }[];
  readonly skipped: readonly { readonly reason: SkipReason; readonly detail: string }[];
}

const sleepFor = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));

/** Throttling by name: Glue's ThrottlingException has that name, and so has a throttling error that is no instance of it. */
function isRetryable(error: unknown): boolean {
  return error instanceof ConcurrentRunsExceededException || (error as { name?: string }).name === 'ThrottlingException';
}

/** StartJobRun, retried with full-jitter backoff while Glue is at its concurrency limit or throttling. */
async function startJobRun(dependencies: UploadToGlueDependencies, object: CreatedObject): Promise<{ jobRunId: string }> {
  const { glue, logger, jobName, targetTableName } = dependencies;
  const retry = dependencies.retry ?? DEFAULT_START_RETRY;
  const sleep = dependencies.sleep ?? sleepFor;
  const random = dependencies.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      const run = await glue.send(
        new StartJobRunCommand({
          JobName: jobName,
          Arguments: { '--S3_BUCKET': object.bucket, '--S3_KEY': object.key, '--DYNAMODB_TABLE': targetTableName },
        }),
      );
      if (!run.JobRunId) throw new Error(`StartJobRun of ${jobName} returned no JobRunId`);
      return { jobRunId: run.JobRunId };
    } catch (error) {
      if (!isRetryable(error) || attempt >= retry.maxAttempts) throw error;
      const delay = Math.floor(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));
      logger.warn('Glue cannot start the job yet; retrying', { jobName, attempt, delayMs: delay, error: (error as Error).name });
      await sleep(delay);
    }
  }
}

/** The handler over given dependencies; it returns what it did for each record. */
export function createUploadToGlueHandler(dependencies: UploadToGlueDependencies): (event: S3Event, context?: Context) => Promise<UploadEventResult> {
  const { logger, metrics, persistenceStore } = dependencies;
  // Keyed by the whole payload, { bucket, key, version }: one run per object version, for a week.
  const config = new IdempotencyConfig({ expiresAfterSeconds: 7 * 24 * 3600 });
  // Counts the times the idempotent function really runs: a redelivery answered from its record leaves it as it was.
  let starts = 0;
  const startOnce = makeIdempotent(
    (object: CreatedObject) => {
      starts++;
      return startJobRun(dependencies, object);
    },
    { persistenceStore, config },
  );

  return async (event, context) => {
    if (context) {
      logger.addContext(context);
      config.registerLambdaContext(context);
    }
    const started: UploadEventResult['started'][number][] = [];
    const skipped: UploadEventResult['skipped'][number][] = [];
    let seen = 0;
    let duplicates = 0;
    try {
      for (const record of Array.isArray(event.Records) ? event.Records : []) {
        const outcome = createdObject(record, dependencies.filter ?? UPLOAD_FILTER);
        if ('skip' in outcome) {
          logger.warn('record skipped', { reason: outcome.skip, detail: outcome.detail });
          skipped.push({ reason: outcome.skip, detail: outcome.detail });
          continue;
        }
        const { bucket, key, version } = outcome.object;
        seen++;
        const startsBefore = starts;
        const { jobRunId } = await startOnce(outcome.object);
        if (starts === startsBefore) duplicates++;
        logger.info('csv_to_dynamodb run for the upload', { bucket, key, version, jobRunId });
        started.push({ bucket, key, version, jobRunId });
      }
      return { started, skipped };
    } finally {
      // One EMF line per event, a failed start included (the uploads before it were handled).
      metrics.addMetric(UPLOAD_METRICS.uploadsSeen, MetricUnit.Count, seen);
      metrics.addMetric(UPLOAD_METRICS.jobRunsStarted, MetricUnit.Count, started.length - duplicates);
      metrics.addMetric(UPLOAD_METRICS.duplicateDeliveriesSkipped, MetricUnit.Count, duplicates);
      metrics.addMetric(UPLOAD_METRICS.keysSkipped, MetricUnit.Count, skipped.length);
      metrics.publishStoredMetrics();
    }
  };
}

/**
 * Dependencies from the Lambda environment: GLUE_JOB_NAME, TARGET_TABLE_NAME, IDEMPOTENCY_TABLE_NAME,
 * and UPLOAD_PREFIX with UPLOAD_SUFFIX (which may be empty: any key under the prefix), the filter
 * of the construct's bucket notification; DATASET, the dataset of the loaded table (the metrics'
 * dimension), and METRICS_NAMESPACE (default `dynalake`).
 */
export function uploadToGlueDependenciesFromEnvironment(environment: NodeJS.ProcessEnv = process.env): UploadToGlueDependencies {
  const { GLUE_JOB_NAME, TARGET_TABLE_NAME, IDEMPOTENCY_TABLE_NAME, UPLOAD_PREFIX, DATASET } = requiredEnvironment(environment, [
    'GLUE_JOB_NAME',
    'TARGET_TABLE_NAME',
    'IDEMPOTENCY_TABLE_NAME',
    'UPLOAD_PREFIX',
    'DATASET',
  ]);
  if (!DATASET_NAME.test(DATASET)) throw new Error(`environment variable DATASET is ${JSON.stringify(DATASET)}, not a dataset name (letters, digits and underscores, starting with a letter)`);
  const UPLOAD_SUFFIX = environment.UPLOAD_SUFFIX;
  if (UPLOAD_SUFFIX === undefined) throw new Error('missing environment variable: UPLOAD_SUFFIX');
  return {
    filter: { prefix: UPLOAD_PREFIX, suffix: UPLOAD_SUFFIX },
    glue: new GlueClient({}),
    logger: new Logger({ serviceName: 'dynalake-upload-to-glue' }),
    metrics: new Metrics({ namespace: metricsNamespaceOf(environment.METRICS_NAMESPACE), serviceName: BRIDGE_STAGES.uploadToGlue, defaultDimensions: { [DATASET_DIMENSION]: DATASET } }),
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE_NAME }),
    jobName: GLUE_JOB_NAME,
    targetTableName: TARGET_TABLE_NAME,
  };
}

let coldStartHandler: ReturnType<typeof createUploadToGlueHandler> | undefined;

/** The Lambda entry: environment checked and clients created once per container, on the first event. */
export const handler = async (event: S3Event, context: Context): Promise<void> => {
  coldStartHandler ??= createUploadToGlueHandler(uploadToGlueDependenciesFromEnvironment());
  await coldStartHandler(event, context);
};
