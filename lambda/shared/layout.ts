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

/** The uploads of the landing bucket by default: CSV files under raw/. */
export const UPLOAD_FILTER: UploadFilter = { prefix: 'raw/', suffix: '.csv' };
