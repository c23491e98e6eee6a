import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../lambda/shared/errors';

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
