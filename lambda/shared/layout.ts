/**
 * Where things are in the lake's buckets, in one module without imports that the stacks (lib/),
 * the handlers (lambda/) and the local pipeline (scripts/) share, so a handler's bundle and the
 * synth load nothing more for it.
 */

/** Which uploads start a csv_to_dynamodb run: keys under `prefix` ending in `suffix`, as the bucket notification filters them. */
export interface UploadFilter {
  readonly prefix: string;
  /** May be empty: any key under the prefix. */
  readonly suffix: string;
}

/**
 * A dataset's name (`orders`, `user_Campaign`, a consumer's `sensors`): letters, digits and
 * underscores, starting with a letter. It names the dataset's change objects (`cdc/<name>/`) and
 * lake table, so it must be safe in an S3 key and a Glue table name.
 */
export const DATASET_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The buckets' top-level folders: every key the pipeline writes is under one of them. They are the
 * layout of deployed data: a change here orphans what the buckets already hold.
 */
export const PREFIXES = {
  /** Landing: uploaded CSV files. */
  raw: 'raw/',
  /** Landing: the stream bridges' change objects, a folder per dataset (expired by a lifecycle rule). */
  cdc: 'cdc/',
  /** Lake: the curated tables, a folder per table. */
  curated: 'curated/',
  /** Lake: each incremental job's record of the change objects it merged, a folder per job. */
  state: 'state/',
  /** Lake: the star schema, a folder per table. */
  warehouse: 'warehouse/',
  /** Assets: the DynamoDB exports of backfills, a folder per dataset (expired by a lifecycle rule). */
  dynamodbExports: 'dynamodb-exports/',
  /** Assets: Glue's temporary files, a folder per job (expired by a lifecycle rule). */
  glueTemp: 'glue-temp/',
  /** Assets: Athena query results (expired by a lifecycle rule). */
  athenaResults: 'athena-results/',
} as const;

/** The datasets dynalake streams itself: the orders and the two campaign tables. */
export const BUILT_IN_DATASETS = { orders: 'orders', userCampaign: 'user_Campaign', campaignInfo: 'campaignInfo' } as const;

/** The table csv_to_dynamodb loads uploads into, as a dataset: the `dataset` of the upload bridge's and job's metrics. */
export const UPLOADS_DATASET = 'uploads';

/** Where a dataset's change objects land: `cdc/<dataset>/`. */
export const cdcPrefix = (dataset: string): string => `${PREFIXES.cdc}${dataset}/`;

/** Where a dataset's or job's curated table lives in the lake: `curated/<name>/`. */
export const curatedTablePrefix = (name: string): string => `${PREFIXES.curated}${name}/`;

/** Where an incremental job keeps its state: `state/<job>/`. */
export const jobStatePrefix = (job: string): string => `${PREFIXES.state}${job}/`;

/** Where a backfill exports a dataset's table: `dynamodb-exports/<dataset>/`. */
export const exportPrefix = (dataset: string): string => `${PREFIXES.dynamodbExports}${dataset}/`;

/** Where a job's Glue temporary files go: `glue-temp/<job>/`. */
export const glueTempPrefix = (job: string): string => `${PREFIXES.glueTemp}${job}/`;

/** The uploads of the landing bucket by default: CSV files under raw/. */
export const UPLOAD_FILTER: UploadFilter = { prefix: PREFIXES.raw, suffix: '.csv' };
