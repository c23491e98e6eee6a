import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { LocalS3 } from '../../scripts/local/s3';
import { getObjectBytes, listKeys } from './local-s3';

/**
 * Checks the DynamoDB exports under `<prefix>AWSDynamoDB/` against DynamoDB's documented output
 * format (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html),
 * whichever engine wrote them, and returns each export's summary and items (DynamoDB JSON).
 */

/** The fields of manifest-summary.json, as the documentation's example has them. */
export const SUMMARY_FIELDS = [
  'billedSizeBytes',
  'endTime',
  'exportArn',
  'exportTime',
  'itemCount',
  'manifestFilesS3Key',
  'outputFormat',
  's3Bucket',
  's3Prefix',
  's3SseAlgorithm',
  's3SseKmsKeyId',
  'startTime',
  'tableArn',
  'tableId',
  'version',
];

/** One export, read back. */
export interface ReadExport {
  readonly exportId: string;
  readonly summary: Record<string, unknown>;
  readonly files: { readonly itemCount: number; readonly dataFileS3Key: string }[];
  /** Every line's `Item`, in DynamoDB JSON. */
  readonly items: Record<string, unknown>[];
}

const isoTime = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/) as unknown;

/** Every export of `tableArn` under `<prefix>AWSDynamoDB/` in `bucket`, each checked against the documented layout. */
export async function readDocumentedExports(local: LocalS3, bucket: string, prefix: string, tableArn: string): Promise<ReadExport[]> {
  const root = `${prefix}AWSDynamoDB/`;
  const keys = await listKeys(local, bucket, root);
  const ids = [...new Set(keys.map((key) => key.slice(root.length).split('/')[0] ?? ''))].sort();
  const exports: ReadExport[] = [];
  for (const exportId of ids) {
    expect(exportId).toMatch(/^\d{14}-[0-9a-f]{8}$/); // epoch milliseconds and a token, as DynamoDB's
    const folder = `${root}${exportId}/`;
    const own = keys.filter((key) => key.startsWith(folder)).map((key) => key.slice(folder.length));
    const dataFiles = own.filter((name) => name.startsWith('data/'));
    expect(own.filter((name) => !name.startsWith('data/')).sort()).toEqual(['_started', 'manifest-files.json', 'manifest-summary.json']);
    expect(dataFiles.length).toBeGreaterThan(0);
    for (const name of dataFiles) expect(name).toMatch(/^data\/[A-Za-z0-9]+\.json\.gz$/);
    expect(await getObjectBytes(local, bucket, `${folder}_started`)).toHaveLength(0);

    const summary = JSON.parse(Buffer.from(await getObjectBytes(local, bucket, `${folder}manifest-summary.json`)).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(summary).sort()).toEqual(SUMMARY_FIELDS);
    expect(summary).toMatchObject({
      version: '2020-06-30',
      exportArn: `${tableArn}/export/${exportId}`,
      tableArn,
      s3Bucket: bucket,
      manifestFilesS3Key: `${folder}manifest-files.json`,
      outputFormat: 'DYNAMODB_JSON',
      startTime: isoTime,
      endTime: isoTime,
      exportTime: isoTime,
    });

    const manifest = Buffer.from(await getObjectBytes(local, bucket, `${folder}manifest-files.json`)).toString('utf8');
    expect(manifest.endsWith('\n')).toBe(true); // JSON lines
    const files = manifest
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { itemCount: number; md5Checksum: string; etag: string; dataFileS3Key: string });
    expect(files.map((file) => file.dataFileS3Key).sort()).toEqual(dataFiles.map((name) => `${folder}${name}`).sort());
    const items: Record<string, unknown>[] = [];
    for (const file of files) {
      expect(Object.keys(file).sort()).toEqual(['dataFileS3Key', 'etag', 'itemCount', 'md5Checksum']);
      const body = await getObjectBytes(local, bucket, file.dataFileS3Key);
      expect(file.md5Checksum).toBe(createHash('md5').update(body).digest('base64'));
      const head = await local.client.send(new HeadObjectCommand({ Bucket: bucket, Key: file.dataFileS3Key }));
      expect(file.etag).toBe(head.ETag?.replace(/"/g, ''));
      const lines = gunzipSync(body).toString('utf8').split('\n').filter((line) => line !== '');
      expect(lines).toHaveLength(file.itemCount);
      for (const line of lines) {
        const record = JSON.parse(line) as Record<string, unknown>;
        expect(Object.keys(record)).toEqual(['Item']);
        const item = record.Item as Record<string, unknown>;
        for (const value of Object.values(item)) expect(Object.keys(value as object)).toHaveLength(1); // one type descriptor each
        items.push(item);
      }
    }
    expect(summary.itemCount).toBe(items.length);
    exports.push({ exportId, summary, files, items });
  }
  return exports;
}

/** Items (DynamoDB JSON) compared as a set: one JSON text each, attribute names sorted. */
export function itemSet(items: readonly Record<string, unknown>[]): string[] {
  return items.map((item) => JSON.stringify(Object.keys(item).sort().map((name) => [name, item[name]]))).sort();
}
