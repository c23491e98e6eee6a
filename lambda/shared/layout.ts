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

/** The uploads of the landing bucket by default: CSV files under raw/. */
export const UPLOAD_FILTER: UploadFilter = { prefix: 'raw/', suffix: '.csv' };
