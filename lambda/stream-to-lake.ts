import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConcurrentRunsExceededException, GlueClient, StartWorkflowRunCommand } from '@aws-sdk/client-glue';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type ChangeRecord, changeObjectKey, changeRecordFromStream, encodeChangeObject, streamLabel } from './shared/cdc';
import { requiredEnvironment } from './shared/environment';
import { DATASET_NAME } from './shared/layout';
import { BRIDGE_STAGES, DATASET_DIMENSION, metricsNamespaceOf, STREAM_METRICS } from './shared/metrics';

/**
 * stream-to-lake: a DynamoDB stream batch → one CDC object in the landing bucket → a request
 * for the refresh workflow to run.
 *
 * Exactly-once in effect: the object's key is a pure function of the batch, so a retried batch
 * lands on the same object; the jobs merge latest-wins by sequence number, so a record seen twice
 * (a bisected retry) changes nothing.
 */

/** What the handler needs; the Lambda entry builds it from its environment, tests and local mode pass their own. */
export interface StreamToLakeDependencies {
  readonly s3: S3Client;
  readonly glue: GlueClient;
  readonly logger: Logger;
  /** Where each batch's figures go (STREAM_METRICS), published as one EMF line when the batch ends. */
  readonly metrics: Metrics;
  /** @default Date.now */
  readonly now?: () => number;
  /** Bucket that receives `cdc/<dataset>/…` objects. */
  readonly landingBucket: string;
  /** The refresh workflow to start after each batch. */
  readonly workflowName: string;
  /** The dataset of the table whose stream this function reads: its objects go under `cdc/<dataset>/`. */
  readonly dataset: string;
}

/** What one batch did, for logs, tests and the local runtime. */
export interface StreamBatchResult {
  readonly response: DynamoDBBatchResponse;
  /** Key of the CDC object written, when the batch had records to write. */
  readonly objectKey?: string;
  readonly recordsWritten: number;
  /** The workflow run started, or why none was. */
  readonly workflow: { readonly runId: string } | { readonly skipped: 'no-records' | 'already-running' | 'write-failed' };
}

function isPreconditionFailed(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'PreconditionFailed' || $metadata?.httpStatusCode === 412;
}

/**
 * The batch logic. Malformed records (no old image, unknown event) fail from the first of them:
 * the records before it are written, and Lambda retries from it, bisecting until the bad record is
 * alone and goes to the on-failure queue. An S3 failure fails the whole batch. A Glue error other
 * than ConcurrentRunsExceeded throws, so Lambda retries the batch (its object is already there).
 */
export async function processStreamBatch(dependencies: StreamToLakeDependencies, event: DynamoDBStreamEvent, context?: Context): Promise<StreamBatchResult> {
  const { metrics } = dependencies;
  try {
    return await processBatch(dependencies, event, context);
  } finally {
    // One EMF line per batch, whatever became of it (a thrown Glue error included).
    metrics.publishStoredMetrics();
  }
}

async function processBatch(dependencies: StreamToLakeDependencies, event: DynamoDBStreamEvent, context?: Context): Promise<StreamBatchResult> {
  const { s3, glue, logger, metrics, landingBucket, workflowName, dataset } = dependencies;
  const records = event.Records;
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  processor.register(records, (record: DynamoDBRecord) => changeRecordFromStream(record), { context, throwOnFullBatchFailure: false });
  const outcomes = await processor.process();

  const firstFailure = outcomes.findIndex(([status]) => status === 'fail');
  const valid = firstFailure === -1 ? outcomes : outcomes.slice(0, firstFailure);
  const changes = valid.map(([, change]) => change as ChangeRecord);
  const eventsOf = (name: ChangeRecord['eventName']) => changes.filter((change) => change.eventName === name).length;
  metrics.addMetric(STREAM_METRICS.changeRecordsIn, MetricUnit.Count, changes.length);
  metrics.addMetric(STREAM_METRICS.insertRecordsIn, MetricUnit.Count, eventsOf('INSERT'));
  metrics.addMetric(STREAM_METRICS.modifyRecordsIn, MetricUnit.Count, eventsOf('MODIFY'));
  metrics.addMetric(STREAM_METRICS.removeRecordsIn, MetricUnit.Count, eventsOf('REMOVE'));
  metrics.addMetric(STREAM_METRICS.malformedRecords, MetricUnit.Count, outcomes.filter(([status]) => status === 'fail').length);
  // A failed record without a sequence number cannot be a checkpoint. Leaving it out of the
  // response would tell Lambda the whole batch succeeded and drop it and every record after it;
  // an empty itemIdentifier is Lambda's "the whole batch failed" (retried, then bisected).
  const failedFrom = firstFailure === -1 ? undefined : (records[firstFailure]?.dynamodb?.SequenceNumber ?? '');
  if (firstFailure !== -1) {
    logger.error('malformed stream records: retrying from the first', {
      firstFailedSequenceNumber: failedFrom,
      failures: outcomes.filter(([status]) => status === 'fail').map(([, reason]) => String(reason)),
    });
  }
  const response: DynamoDBBatchResponse = { batchItemFailures: failedFrom === undefined ? [] : [{ itemIdentifier: failedFrom }] };
  const [first] = changes;
  if (first === undefined) return { response, recordsWritten: 0, workflow: { skipped: 'no-records' } };

  const objectKey = changeObjectKey(dataset, streamLabel(records[0]?.eventSourceARN), changes);
  const body = encodeChangeObject(changes);
  let written = 0;
  try {
    // If-None-Match: a retried batch finds its object written and leaves it (and its modified
    // time, which job bookmarks go by) alone; the content would be identical anyway.
    await s3.send(new PutObjectCommand({ Bucket: landingBucket, Key: objectKey, Body: body, ContentType: 'application/gzip', IfNoneMatch: '*' }));
    written = 1;
  } catch (error) {
    if (!isPreconditionFailed(error)) {
      logger.error('writing the change object failed: the whole batch will be retried', { objectKey, error: error as Error });
      // The valid records start at record 0, so the first change is the first record.
      return { response: { batchItemFailures: [{ itemIdentifier: first.sequenceNumber }] }, objectKey, recordsWritten: 0, workflow: { skipped: 'write-failed' } };
    }
    logger.info('change object already written by an earlier attempt', { objectKey });
  }
  logger.info('change object written', { objectKey, records: changes.length });
  metrics.addMetric(STREAM_METRICS.changeObjectsWritten, MetricUnit.Count, written);
  metrics.addMetric(STREAM_METRICS.changeObjectBytes, MetricUnit.Bytes, body.length);
  const oldest = Math.min(...changes.map((change) => change.approximateCreationTime));
  metrics.addMetric(STREAM_METRICS.oldestChangeAge, MetricUnit.Seconds, Math.max(0, (dependencies.now ?? Date.now)() / 1000 - oldest));

  try {
    const run = await glue.send(new StartWorkflowRunCommand({ Name: workflowName }));
    logger.info('refresh workflow started', { workflowName, runId: run.RunId });
    metrics.addMetric(STREAM_METRICS.workflowRunsStarted, MetricUnit.Count, 1);
    return { response, objectKey, recordsWritten: changes.length, workflow: { runId: run.RunId ?? '' } };
  } catch (error) {
    if (error instanceof ConcurrentRunsExceededException) {
      // A run is going: when it ends, refresh-follow-up sees this object unmerged and starts the next run.
      logger.info('refresh workflow already running; the next run picks the change up', { workflowName });
      metrics.addMetric(STREAM_METRICS.workflowAlreadyRunning, MetricUnit.Count, 1);
      return { response, objectKey, recordsWritten: changes.length, workflow: { skipped: 'already-running' } };
    }
    throw error;
  }
}

/** The handler over given dependencies. */
export function createStreamToLakeHandler(dependencies: StreamToLakeDependencies): (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse> {
  return async (event, context) => {
    if (context) dependencies.logger.addContext(context);
    return (await processStreamBatch(dependencies, event, context)).response;
  };
}

/** Dependencies from the Lambda environment: LANDING_BUCKET, WORKFLOW_NAME, DATASET, and METRICS_NAMESPACE (default `dynalake`). */
export function streamToLakeDependenciesFromEnvironment(environment: NodeJS.ProcessEnv = process.env): StreamToLakeDependencies {
  const { LANDING_BUCKET, WORKFLOW_NAME, DATASET } = requiredEnvironment(environment, ['LANDING_BUCKET', 'WORKFLOW_NAME', 'DATASET']);
  if (!DATASET_NAME.test(DATASET)) throw new Error(`environment variable DATASET is ${JSON.stringify(DATASET)}, not a dataset name (letters, digits and underscores, starting with a letter)`);
  return {
    s3: new S3Client({}),
    glue: new GlueClient({}),
    logger: new Logger({ serviceName: 'dynalake-stream-to-lake' }),
    metrics: new Metrics({ namespace: metricsNamespaceOf(environment.METRICS_NAMESPACE), serviceName: BRIDGE_STAGES.streamToLake, defaultDimensions: { [DATASET_DIMENSION]: DATASET } }),
    landingBucket: LANDING_BUCKET,
    workflowName: WORKFLOW_NAME,
    dataset: DATASET,
  };
}

let coldStartHandler: ReturnType<typeof createStreamToLakeHandler> | undefined;

/** The Lambda entry: environment checked and clients created once per container, on the first event. */
export const handler = (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
  coldStartHandler ??= createStreamToLakeHandler(streamToLakeDependenciesFromEnvironment());
  return coldStartHandler(event, context);
};
