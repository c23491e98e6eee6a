import { join, resolve } from 'node:path';

/** Where local mode keeps its state, relative to the working directory (`npm start -- --fresh` wipes it). */
export const LOCAL_STATE_DIR = '.dynalake';

/** The folders of a local-mode state directory. */
export interface LocalLayout {
  readonly root: string;
  /** dynalite's data. */
  readonly dynamodbDir: string;
  /** s3rver's buckets (its private on-disk layout: read them through the S3 API only). */
  readonly s3Dir: string;
  /** Scratch space of the local Glue twins and of `npm run query` (safe to delete). */
  readonly scratchDir: string;
}

export function localLayout(root: string = resolve(LOCAL_STATE_DIR)): LocalLayout {
  return { root, dynamodbDir: join(root, 'dynamodb'), s3Dir: join(root, 's3'), scratchDir: join(root, 'scratch') };
}

/** The local buckets' names (in the cloud CloudFormation names them). */
export interface LocalBucketNames {
  readonly landing: string;
  readonly lake: string;
  readonly assets: string;
}

export function localBucketNames(config: { readonly prefix: string; readonly stage: string }): LocalBucketNames {
  const base = `${config.prefix}-${config.stage}`;
  return { landing: `${base}-landing`, lake: `${base}-lake`, assets: `${base}-assets` };
}
