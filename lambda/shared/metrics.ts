/**
 * The pipeline's CloudWatch metrics, named once: the bridges publish them (Powertools Metrics, in
 * the embedded metric format), the Glue jobs publish theirs, and the alarms and the dashboard read
 * them. No dependencies, so constructs import the names without the Powertools runtime.
 *
 * Every metric carries two dimensions: `service`, the stage that published it (Powertools'
 * service dimension: `stream-to-lake`, `upload-to-glue`, or a Glue job's name), and `dataset`.
 */

/** The namespace of an app's metrics unless its constructs are given one (the pipeline stack uses `<prefix>-<stage>`). */
export const DEFAULT_METRICS_NAMESPACE = 'dynalake';

/** The dimension that names the dataset, beside Powertools' `service`. */
export const DATASET_DIMENSION = 'dataset';

/** The bridges' stage names: the `service` dimension of what they publish. */
export const BRIDGE_STAGES = { streamToLake: 'stream-to-lake', uploadToGlue: 'upload-to-glue', refreshFollowUp: 'refresh-follow-up' } as const;

/** The dimension that names the workflow, beside `service`, on what refresh-follow-up publishes (it follows a workflow, not one dataset). */
export const WORKFLOW_DIMENSION = 'workflow';

/** What refresh-follow-up publishes once per ended workflow run. */
export const RUN_METRICS = {
  /** Runs that ended with every job and crawler succeeded. */
  workflowRunsSucceeded: 'WorkflowRunsSucceeded',
  /** Runs that ended with a job or crawler failed, timed out, stopped or errored. */
  workflowRunsFailed: 'WorkflowRunsFailed',
  /** Change objects the run's merge jobs had not merged when it ended (they landed after the jobs listed theirs). */
  changeObjectsWaiting: 'ChangeObjectsWaiting',
  /**
   * Change objects that were there before the run started and that a run that succeeded left
   * unmerged: a merge job that succeeds without merging. Never followed up (a run would leave them
   * again, in a loop); anything above 0 wants a look at the jobs.
   */
  changeObjectsLeftUnmerged: 'ChangeObjectsLeftUnmerged',
  /** Follow-up runs started for them. */
  followUpRunsStarted: 'FollowUpRunsStarted',
} as const;

/** What stream-to-lake publishes for each batch. */
export const STREAM_METRICS = {
  /** Valid change records in the batch (the sum of the three by event type). */
  changeRecordsIn: 'ChangeRecordsIn',
  insertRecordsIn: 'InsertRecordsIn',
  modifyRecordsIn: 'ModifyRecordsIn',
  removeRecordsIn: 'RemoveRecordsIn',
  /** Change objects this invocation wrote (0 when a retried batch found its object already there). */
  changeObjectsWritten: 'ChangeObjectsWritten',
  /** Gzipped bytes of the change object. */
  changeObjectBytes: 'ChangeObjectBytes',
  /** Seconds from the oldest change of the batch to the moment its object was written. */
  oldestChangeAge: 'OldestChangeAgeSeconds',
  workflowRunsStarted: 'WorkflowRunsStarted',
  /** Starts Glue answered with ConcurrentRunsExceeded: a run was going. */
  workflowAlreadyRunning: 'WorkflowAlreadyRunning',
  /** Records the codec refused (no image, unknown event); Lambda retries from the first. */
  malformedRecords: 'MalformedRecords',
} as const;

/** What upload-to-glue publishes for each event. */
export const UPLOAD_METRICS = {
  /** Object-created records that matched the upload filter. */
  uploadsSeen: 'UploadsSeen',
  jobRunsStarted: 'JobRunsStarted',
  /** Redeliveries of an object version whose run was already started (the idempotency record answered). */
  duplicateDeliveriesSkipped: 'DuplicateDeliveriesSkipped',
  /** Records skipped: outside the filter, not an object creation, or unreadable. */
  keysSkipped: 'KeysSkipped',
} as const;

/**
 * What each Glue job publishes once its output is committed (glue-scripts/dynalake_glue.py
 * JOB_METRIC_UNITS names the same, with the same units), dimensions `service` (the job: `orders_to_lake`,
 * `campaign_progress`, `sales_star_schema`, `csv_to_dynamodb`, `<dataset>_to_lake`) and `dataset`.
 */
export const JOB_METRICS = {
  /** Change objects the run merged (0: nothing new). */
  changeObjectsMerged: 'ChangeObjectsMerged',
  /** Rows of the partitions rewritten, before the run (all input rows for a rebuild or a load). */
  rowsRead: 'RowsRead',
  /** Keys whose latest change was an INSERT or MODIFY. */
  rowsUpserted: 'RowsUpserted',
  /** Keys whose latest change was a REMOVE. */
  rowsRemoved: 'RowsRemoved',
  /** Rows of the partitions rewritten, after the run (all output rows for a rebuild or a load). */
  rowsWritten: 'RowsWritten',
  partitionsRewritten: 'PartitionsRewritten',
  /** From the start of the script to the publication, after the commit. */
  runDuration: 'RunDurationSeconds',
  /** How old the newest change merged was at the commit; 0 when nothing was waiting (the lake held every change). */
  lakeFreshness: 'LakeFreshnessSeconds',
} as const;

/** The unit of each job metric. */
export const JOB_METRIC_UNITS: Readonly<Record<(typeof JOB_METRICS)[keyof typeof JOB_METRICS], 'Count' | 'Seconds'>> = {
  ChangeObjectsMerged: 'Count',
  RowsRead: 'Count',
  RowsUpserted: 'Count',
  RowsRemoved: 'Count',
  RowsWritten: 'Count',
  PartitionsRewritten: 'Count',
  RunDurationSeconds: 'Seconds',
  LakeFreshnessSeconds: 'Seconds',
};

/**
 * A namespace CloudWatch accepts: 1 to 255 printable ASCII characters, not starting with `:`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html), and not
 * `AWS/`, which is reserved for AWS services
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
 */
export const METRICS_NAMESPACE = /^(?!AWS\/)[\x20-\x39\x3b-\x7e][\x20-\x7e]{0,254}$/;

/** The namespace a handler's METRICS_NAMESPACE variable names; unset or empty, dynalake's default. */
export function metricsNamespaceOf(variable: string | undefined): string {
  return variable === undefined || variable === '' ? DEFAULT_METRICS_NAMESPACE : variable;
}
