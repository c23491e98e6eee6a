import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../../lambda/shared/errors';
import type { ExportDataFile, ExportSummary } from '../dynamodb-export';
import type { JsonValue } from './duckdb';
import { getObjectBytes } from './s3-files';

/**
 * How Glue's DynamoDB export connector reads the export it asked for ("AWS Glue then creates a
 * DynamicFrame object by reading the data from the Amazon S3 export location",
 * https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-dynamodb-home.html):
 * the summary names the files manifest, which names the data files; each line of a data file is
 * one `{"Item": …}` in DynamoDB JSON. With `dynamodb.unnestDDBJson` the type descriptors go
 * ({@link unnestDynamoDBJson}). The export stays in S3 after the run, as on Glue.
 */

/** One unnested item: attribute name → plain JSON value. */
export type ExportItem = Record<string, JsonValue>;

/** The items of one data file, and where they came from (named in errors). */
export interface SourcedItems {
  readonly source: string;
  readonly items: readonly ExportItem[];
}

/**
 * One DynamoDB JSON attribute value without its type descriptor, as the export connector's
 * unnest gives it. AWS documents the shape with its `simplifyDDBJson` example (same page): S, N
 * and B as strings (a number keeps its exact text, so nothing is rounded on the way), BOOL as a
 * boolean, NULL as null, M as an object, L as an array, SS/NS/BS as arrays of strings. AWS says
 * `unnestDDBJson` does the same job with weaker support for maps, without saying how; maps here
 * unnest the documented way (the orders table has none). scripts/local/spark/awsglue/_dynamodb_export.py
 * unnests alike for the Spark engine.
 */
export function unnestDynamoDBJson(value: unknown, where: string): JsonValue {
  const types = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value as Record<string, unknown>) : [];
  const [entry] = types;
  if (types.length !== 1 || entry === undefined) throw new DynalakeError('BAD_INPUT', `${where}: ${JSON.stringify(value)} is not a DynamoDB JSON value (one type descriptor: S, N, B, BOOL, NULL, M, L, SS, NS or BS)`);
  const [type, inner] = entry;
  const strings = () => {
    if (!Array.isArray(inner) || !inner.every((member) => typeof member === 'string')) throw new DynalakeError('BAD_INPUT', `${where}: ${type} is not a list of strings`);
    return inner;
  };
  switch (type) {
    case 'S':
    case 'N':
    case 'B':
      if (typeof inner !== 'string') throw new DynalakeError('BAD_INPUT', `${where}: ${type} ${JSON.stringify(inner)} is not a string`);
      return inner;
    case 'BOOL':
      if (typeof inner !== 'boolean') throw new DynalakeError('BAD_INPUT', `${where}: BOOL ${JSON.stringify(inner)} is not a boolean`);
      return inner;
    case 'NULL':
      return null;
    case 'M':
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw new DynalakeError('BAD_INPUT', `${where}: M is not an object`);
      return Object.fromEntries(Object.entries(inner as Record<string, unknown>).map(([name, member]) => [name, unnestDynamoDBJson(member, `${where}.${name}`)]));
    case 'L':
      if (!Array.isArray(inner)) throw new DynalakeError('BAD_INPUT', `${where}: L is not a list`);
      return inner.map((member, index) => unnestDynamoDBJson(member, `${where}[${String(index)}]`));
    case 'SS':
    case 'NS':
    case 'BS':
      return strings();
    default:
      throw new DynalakeError('BAD_INPUT', `${where}: ${JSON.stringify(type)} is not a DynamoDB type descriptor`);
  }
}

/** One line of a DynamoDB JSON data file, unnested. */
export function unnestExportLine(line: string, where: string): ExportItem {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    throw new DynalakeError('BAD_INPUT', `${where}: not JSON (${(error as Error).message})`);
  }
  const item = (record as { Item?: unknown } | null)?.Item;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new DynalakeError('BAD_INPUT', `${where}: a DynamoDB JSON export line is {"Item": {...}}`);
  return Object.fromEntries(Object.entries(item as Record<string, unknown>).map(([name, value]) => [name, unnestDynamoDBJson(value, `${where}: ${name}`)]));
}

async function readJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  const text = Buffer.from(await getObjectBytes(s3, bucket, key)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DynalakeError('LOAD_FAILED', `s3://${bucket}/${key}: not JSON (${(error as Error).message})`);
  }
}

/** One line of an export's manifest-files.json: a data file and its item count, or LOAD_FAILED naming the line. */
function manifestEntry(line: string, where: string): ExportDataFile {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch (error) {
    throw new DynalakeError('LOAD_FAILED', `${where}: not JSON (${(error as Error).message})`);
  }
  const { dataFileS3Key, itemCount } = (entry ?? {}) as Partial<Record<keyof ExportDataFile, unknown>>;
  if (typeof dataFileS3Key !== 'string' || typeof itemCount !== 'number') throw new DynalakeError('LOAD_FAILED', `${where}: a manifest-files line names its dataFileS3Key and itemCount`);
  return { ...(entry as ExportDataFile), dataFileS3Key, itemCount };
}

/**
 * The unnested items of a finished export, data file by data file, found through its manifests
 * (`exportManifest`: the key of manifest-summary.json). A data file whose item count is not the
 * manifest's is LOAD_FAILED: the export is damaged or not the one named.
 */
export async function* readExportItems(s3: S3Client, bucket: string, exportManifest: string): AsyncGenerator<SourcedItems> {
  const summary = (await readJson(s3, bucket, exportManifest)) as Partial<ExportSummary>;
  if (typeof summary.manifestFilesS3Key !== 'string') throw new DynalakeError('LOAD_FAILED', `s3://${bucket}/${exportManifest}: no manifestFilesS3Key`);
  const manifestKey = summary.manifestFilesS3Key;
  const manifestText = Buffer.from(await getObjectBytes(s3, bucket, manifestKey)).toString('utf8');
  const files = manifestText.split('\n').flatMap((line, index) => (line.trim() === '' ? [] : [manifestEntry(line, `s3://${bucket}/${manifestKey} line ${String(index + 1)}`)]));
  let total = 0;
  for (const file of files) {
    const source = `s3://${bucket}/${file.dataFileS3Key}`;
    const text = gunzipSync(await getObjectBytes(s3, bucket, file.dataFileS3Key)).toString('utf8');
    // Numbered as lines of the file: a blank line holds no item but counts, as in decodeChangeObject (lambda/shared/cdc.ts).
    const items = text
      .split('\n')
      .flatMap((line, index) => (line === '' ? [] : [unnestExportLine(line, `${source} line ${String(index + 1)}`)]));
    if (items.length !== file.itemCount) throw new DynalakeError('LOAD_FAILED', `${source} holds ${String(items.length)} items, its manifest says ${String(file.itemCount)}`);
    total += items.length;
    yield { source, items };
  }
  if (total !== summary.itemCount) throw new DynalakeError('LOAD_FAILED', `s3://${bucket}/${exportManifest}: the data files hold ${String(total)} items, the summary says ${String(summary.itemCount)}`);
}
