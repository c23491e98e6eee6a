import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type AttributeValue, DescribeTableCommand, type DynamoDBClient, paginateScan, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynalakeError } from '../../lambda/shared/errors';

/**
 * DynamoDB's ExportTableToPointInTime (full export, DYNAMODB_JSON), emulated over the local
 * DynamoDB: what the Glue export connector (`dynamodb.export` = `ddb`) asks DynamoDB for before
 * it reads the table. The objects land in the local S3 in DynamoDB's documented layout
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
 *
 *   <prefix>AWSDynamoDB/<ExportId>/_started                 empty: the bucket is writable, the export began
 *   <prefix>AWSDynamoDB/<ExportId>/data/<name>.json.gz     gzipped JSON lines, one {"Item": <DynamoDB JSON>} each
 *   <prefix>AWSDynamoDB/<ExportId>/manifest-files.json     JSON lines: itemCount, md5Checksum, etag, dataFileS3Key
 *   <prefix>AWSDynamoDB/<ExportId>/manifest-summary.json   version, exportArn, …, manifestFilesS3Key, itemCount, outputFormat
 *
 * Written in that order, the summary last: it is there only once the export is whole. The
 * `.checksum` files beside the manifests are not written (AWS does not document their content).
 * Keys in the manifests are whole object keys, the prefix included, as readers use them. The
 * Python twin of this module is scripts/local/spark/awsglue/_dynamodb_export.py (the Spark engine
 * exports through it); one test checks both against the documented layout.
 *
 * What differs from the service: the local DynamoDB keeps no history, so the "point in time" is
 * now (a consistent scan; nothing else writes the table during a local job run), and the table's
 * point-in-time recovery, which the storage stack turns on, is not checked. DynamoDB writes one
 * file per partition or more; here a file holds up to `itemsPerFile` items, and an empty table
 * gives one empty file, as an empty partition does.
 */

/** What the export writes, as the manifests name it. */
export const EXPORT_FORMAT = 'DYNAMODB_JSON';
/** The manifests' format version, as the documentation shows it. */
export const MANIFEST_VERSION = '2020-06-30';

const TABLE_ARN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table\/([A-Za-z0-9_.-]{3,255})$/;

/** The table name of a DynamoDB table ARN (its last segment); BAD_INVOCATION when it is no table ARN. */
export function tableNameOfArn(tableArn: string): string {
  const name = TABLE_ARN.exec(tableArn)?.[1];
  if (name === undefined) throw new DynalakeError('BAD_INVOCATION', `${JSON.stringify(tableArn)} is not a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)`);
  return name;
}

/** An ExportTableToPointInTime request, the part the emulation takes. */
export interface ExportRequest {
  readonly tableArn: string;
  readonly s3Bucket: string;
  /** @default - the bucket's root */
  readonly s3Prefix?: string;
  /** Items per data file. @default 100000 */
  readonly itemsPerFile?: number;
}

/** One line of manifest-files.json. */
export interface ExportDataFile {
  readonly itemCount: number;
  /** Base64 MD5 of the object's bytes. */
  readonly md5Checksum: string;
  /** The object's ETag, without quotes. */
  readonly etag: string;
  readonly dataFileS3Key: string;
}

/** manifest-summary.json. */
export interface ExportSummary {
  readonly version: string;
  readonly exportArn: string;
  readonly startTime: string;
  readonly endTime: string;
  readonly tableArn: string;
  readonly tableId: string | null;
  readonly exportTime: string;
  readonly s3Bucket: string;
  readonly s3Prefix: string | null;
  readonly s3SseAlgorithm: string | null;
  readonly s3SseKmsKeyId: string | null;
  readonly manifestFilesS3Key: string;
  readonly billedSizeBytes: number;
  readonly itemCount: number;
  readonly outputFormat: string;
}

/** A finished export: where its summary is (DescribeExport's ExportManifest), and what it holds. */
export interface ExportResult {
  readonly exportId: string;
  /** The key of manifest-summary.json. */
  readonly exportManifest: string;
  readonly summary: ExportSummary;
  readonly dataFiles: readonly ExportDataFile[];
}

/** `<prefix>AWSDynamoDB/` with the prefix taken as a folder: `a/b` and `a/b/` give the same keys. */
export function exportFolder(s3Prefix: string | undefined): string {
  const folder = (s3Prefix ?? '').replace(/^\/+|\/+$/g, '');
  return `${folder === '' ? '' : `${folder}/`}AWSDynamoDB/`;
}

/** An export id as DynamoDB makes them: epoch milliseconds (14 digits) and 8 hex digits. */
function newExportId(now: Date): string {
  return `${String(now.getTime()).padStart(14, '0')}-${randomBytes(4).toString('hex')}`;
}

/** An attribute value as DynamoDB JSON: the wire form, binary as base64. */
export function dynamoDBJson(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  if (value.M !== undefined) return { M: itemJson(value.M) };
  if (value.L !== undefined) return { L: value.L.map(dynamoDBJson) };
  return value;
}

function itemJson(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, dynamoDBJson(value)]));
}

async function put(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<string> {
  try {
    const response = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return (response.ETag ?? '').replace(/"/g, '');
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchBucket') throw new DynalakeError('BAD_INVOCATION', `the export bucket s3://${bucket} does not exist`);
    throw error;
  }
}

/**
 * Exports the whole table to S3 and resolves once the export is complete (DynamoDB's is
 * asynchronous; the Glue connector waits for it). A table that does not exist is BAD_INVOCATION.
 */
export async function exportTableToPointInTime(dynamodb: DynamoDBClient, s3: S3Client, request: ExportRequest): Promise<ExportResult> {
  const tableName = tableNameOfArn(request.tableArn);
  const itemsPerFile = request.itemsPerFile ?? 100_000;
  if (!Number.isInteger(itemsPerFile) || itemsPerFile < 1) throw new DynalakeError('BAD_INVOCATION', `itemsPerFile must be a whole number of at least 1, not ${String(itemsPerFile)}`);
  let tableId: string | null;
  try {
    tableId = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableId ?? null;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) throw new DynalakeError('BAD_INVOCATION', `cannot export ${request.tableArn}: the local DynamoDB has no table ${tableName}`);
    throw error;
  }
  const started = new Date();
  const exportId = newExportId(started);
  const folder = `${exportFolder(request.s3Prefix)}${exportId}/`;
  await put(s3, request.s3Bucket, `${folder}_started`, Buffer.alloc(0));

  const dataFiles: ExportDataFile[] = [];
  let lines: string[] = [];
  const flush = async () => {
    const body = gzipSync(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    const key = `${folder}data/${randomBytes(13).toString('hex')}.json.gz`;
    const etag = await put(s3, request.s3Bucket, key, body);
    dataFiles.push({ itemCount: lines.length, md5Checksum: createHash('md5').update(body).digest('base64'), etag, dataFileS3Key: key });
    lines = [];
  };
  for await (const page of paginateScan({ client: dynamodb }, { TableName: tableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      lines.push(JSON.stringify({ Item: itemJson(item) }));
      if (lines.length >= itemsPerFile) await flush();
    }
  }
  if (lines.length > 0 || dataFiles.length === 0) await flush();

  const manifestFilesS3Key = `${folder}manifest-files.json`;
  await put(s3, request.s3Bucket, manifestFilesS3Key, Buffer.from(dataFiles.map((file) => `${JSON.stringify(file)}\n`).join('')));
  const summary: ExportSummary = {
    version: MANIFEST_VERSION,
    exportArn: `${request.tableArn}/export/${exportId}`,
    startTime: started.toISOString(),
    endTime: new Date().toISOString(),
    tableArn: request.tableArn,
    tableId,
    exportTime: started.toISOString(),
    s3Bucket: request.s3Bucket,
    s3Prefix: request.s3Prefix ?? null,
    // The local S3 encrypts nothing.
    s3SseAlgorithm: null,
    s3SseKmsKeyId: null,
    manifestFilesS3Key,
    // Nothing is billed locally.
    billedSizeBytes: 0,
    itemCount: dataFiles.reduce((sum, file) => sum + file.itemCount, 0),
    outputFormat: EXPORT_FORMAT,
  };
  const exportManifest = `${folder}manifest-summary.json`;
  await put(s3, request.s3Bucket, exportManifest, Buffer.from(JSON.stringify(summary)));
  return { exportId, exportManifest, summary, dataFiles };
}
