import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../lambda/shared/errors';
import { isChangeObject } from './changes';
import { folderPrefix, getObjectBytesIfAny, listObjects, type S3ObjectInfo } from './s3-files';

/**
 * A job's incremental state, as glue-scripts/dynalake_glue.py keeps it (parse_state, render_state):
 * one JSON object in the lake bucket, `<STATE_PREFIX>merged.json`, listing per change source
 * (`s3://bucket/prefix/`) the keys of the change objects already merged. Written only after the
 * job's output is in place; keys S3 no longer lists (cdc/ expiry) leave it. Both engines read and
 * write the same object, so a lake can move between them.
 */

export const STATE_FORMAT = 1;
const STATE_OBJECT = 'merged.json';

/** The merged keys per source. */
export type MergedObjects = Map<string, ReadonlySet<string>>;

/** The key of a job's state object under its STATE_PREFIX. */
export function stateKey(statePrefix: string): string {
  const folder = statePrefix.replace(/^\/+|\/+$/g, '');
  return folder === '' ? STATE_OBJECT : `${folder}/${STATE_OBJECT}`;
}

/** Parses a state object's text (undefined: no state yet). A state of another job or format is an error naming `where`. */
export function parseState(text: string | undefined, job: string, where: string): MergedObjects {
  const merged: MergedObjects = new Map();
  if (text === undefined) return merged;
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new DynalakeError('BAD_INPUT', `${where}: the state object is not JSON (${(error as Error).message}); delete it to merge the whole change history again`);
  }
  const { format, job: owner, sources } = (state ?? {}) as { format?: unknown; job?: unknown; sources?: unknown };
  if (format !== STATE_FORMAT || owner !== job || typeof sources !== 'object' || sources === null || Array.isArray(sources)) {
    throw new DynalakeError('BAD_INPUT', `${where}: not a format-${String(STATE_FORMAT)} state object of ${job}; delete it to merge the whole change history again`);
  }
  for (const [source, keys] of Object.entries(sources)) {
    if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) throw new DynalakeError('BAD_INPUT', `${where}: sources[${JSON.stringify(source)}] is not a list of object keys`);
    merged.set(source, new Set(keys));
  }
  return merged;
}

/** The listed objects not merged yet, sorted (the read order that settles ties). */
export function pendingKeys(listed: Iterable<string>, merged: ReadonlySet<string>): string[] {
  return [...new Set(listed)].filter((key) => !merged.has(key)).sort();
}

/** A source's state after a run: the merged objects S3 still lists, and this run's. */
export function nextState(listed: Iterable<string>, merged: ReadonlySet<string>, fresh: Iterable<string>): string[] {
  const listedSet = new Set(listed);
  return [...new Set([...[...merged].filter((key) => listedSet.has(key)), ...fresh])].sort();
}

/** A state object's text, keys sorted, as render_state writes it. */
export function renderState(job: string, sources: MergedObjects, updatedAt: string): string {
  const sorted = Object.fromEntries([...sources.keys()].sort().map((source) => [source, [...(sources.get(source) as ReadonlySet<string>)].sort()]));
  return `${JSON.stringify({ format: STATE_FORMAT, job, sources: sorted, updatedAt }, null, 2)}\n`;
}

/** Reads a job's state object from S3 (an absent object is no state). */
export async function readState(s3: S3Client, bucket: string, statePrefix: string, job: string): Promise<MergedObjects> {
  const key = stateKey(statePrefix);
  const bytes = await getObjectBytesIfAny(s3, bucket, key);
  return parseState(bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'), job, `s3://${bucket}/${key}`);
}

/** Writes a job's state object. */
export async function writeState(s3: S3Client, bucket: string, statePrefix: string, job: string, sources: MergedObjects): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: stateKey(statePrefix), Body: renderState(job, sources, new Date().toISOString()), ContentType: 'application/json' }));
}

/** Whether two key sets hold the same keys. */
export function sameKeys(a: ReadonlySet<string>, b: Iterable<string>): boolean {
  const list = [...b];
  return list.length === a.size && list.every((key) => a.has(key));
}

/** One change source of a run: its change objects as listed, those not merged yet, and how many were merged before. */
export interface ChangeSource {
  readonly source: string;
  readonly listed: readonly S3ObjectInfo[];
  readonly fresh: readonly S3ObjectInfo[];
}

/** A run's change sources, and the state to save once its output is in place. */
export interface PendingChanges {
  readonly sources: readonly ChangeSource[];
  /** Writes the state (merged = what S3 still lists that was merged before, and this run's), unless unchanged. */
  readonly save: () => Promise<void>;
}

/**
 * What a job has to merge: for each CDC prefix of `landingBucket`, the change objects its state
 * object does not list yet (dynalake_glue.pending_changes).
 */
export async function pendingChanges(s3: S3Client, job: string, landingBucket: string, lakeBucket: string, statePrefix: string, cdcPrefixes: readonly string[]): Promise<PendingChanges> {
  const state = await readState(s3, lakeBucket, statePrefix, job);
  const sources = await Promise.all(
    cdcPrefixes.map(async (prefix) => {
      const folder = folderPrefix(prefix);
      const source = `s3://${landingBucket}/${folder}`;
      const listed = (await listObjects(s3, landingBucket, folder)).filter((object) => isChangeObject(object.key));
      const merged = state.get(source) ?? new Set<string>();
      const pending = new Set(pendingKeys(listed.map((object) => object.key), merged));
      return { source, listed, merged, fresh: listed.filter((object) => pending.has(object.key)), kept: nextState(listed.map((object) => object.key), merged, pending) };
    }),
  );
  return {
    sources,
    save: async () => {
      if (sources.every(({ merged, kept }) => sameKeys(merged, kept))) return;
      for (const { source, kept } of sources) state.set(source, new Set(kept));
      await writeState(s3, lakeBucket, statePrefix, job, state);
    },
  };
}
