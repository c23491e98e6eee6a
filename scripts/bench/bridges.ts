/**
 * npm run bench:bridges -- [--batches N] [--batch-size N] [--imports N]
 *
 * Measures the two Lambda handlers as they ship:
 *   1. the minified bundle of each (esbuild with the options the construct uses), raw and gzipped;
 *   2. cold import time: the median over --imports fresh node processes of requiring the bundle,
 *      beside the same measure for a bundle of an empty handler (the baseline: Node's own
 *      module loading), as a ratio;
 *   3. stream-to-lake throughput on --batches batches of --batch-size orders records, written to
 *      a real s3rver, against a baseline in the same process: a minimal handler that unmarshalls
 *      each record, writes the JSON lines gzipped with one PutObject and checks nothing (the
 *      ceiling for this object format; the ratio is the cost of validation, exact numbers and
 *      Powertools' batch processing);
 *   4. Glue start calls per 10,000 records, counted at the Glue client (target: one per batch).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { GlueClient, StartWorkflowRunCommand } from '@aws-sdk/client-glue';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { HANDLER_BUNDLING, lambdaEntry } from '../../lib/constructs/bridge-function';
import { bundleHandler } from '../../lib/handler-bundle';
import { processStreamBatch } from '../../lambda/stream-to-lake';
import { localStreamMetrics } from '../local/metrics';
import { ensureBuckets, startLocalS3 } from '../local/s3';
import { integerOption, parseCommandLine, runCli } from '../lib/cli';

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** The handler bundled as the construct bundles it (bundleHandler, cached in `cacheDir`); returns the bundle's file and sizes. */
function bundle(entry: string, cacheDir: string): { file: string; bytes: number; gzipBytes: number } {
  const file = join(bundleHandler(entry, HANDLER_BUNDLING, cacheDir).dir, 'index.js');
  const contents = readFileSync(file);
  return { file, bytes: contents.byteLength, gzipBytes: gzipSync(contents).byteLength };
}

/** Milliseconds to require `file` in a fresh node process, median over `runs` processes. */
function coldImportMs(file: string, runs: number): number {
  const script = `const s=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-s)/1e6))`;
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } });
    if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`);
    times.push(Number(child.stdout));
  }
  return median(times);
}

/** A stream event of `size` orders records (INSERT, MODIFY and REMOVE), sequence numbers from `firstSequence`. */
function ordersEvent(size: number, firstSequence: bigint): DynamoDBStreamEvent {
  const records: DynamoDBRecord[] = [];
  for (let index = 0; index < size; index++) {
    const invoice = String(536365 + Math.floor(index / 8));
    const image = (quantity: number) =>
      marshall({
        InvoiceNo: invoice,
        LineNo: (index % 8) + 1,
        StockCode: '85123A',
        Description: 'WHITE HANGING HEART T-LIGHT HOLDER',
        Quantity: quantity,
        UnitPrice: 2.55,
        InvoiceDate: '2010-12-01T08:26:00',
        CustomerID: 17850,
        Country: 'United Kingdom',
        IsCancellation: false,
        InvoiceDay: '2010-12-01',
        SourceFile: 'online-retail.csv',
        LoadedAt: '2026-11-22T06:00:00.000Z',
      });
    const eventName = (['INSERT', 'MODIFY', 'REMOVE'] as const)[index % 3] ?? 'INSERT';
    records.push({
      eventID: String(index),
      eventName,
      eventSource: 'aws:dynamodb',
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-22T00:00:00.000',
      dynamodb: {
        ApproximateCreationDateTime: 1_795_000_000 + index / 1000,
        Keys: marshall({ InvoiceNo: invoice, LineNo: (index % 8) + 1 }) as never,
        NewImage: eventName === 'REMOVE' ? undefined : (image(6) as never),
        OldImage: eventName === 'INSERT' ? undefined : (image(12) as never),
        SequenceNumber: String(firstSequence + BigInt(index)),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  }
  return { Records: records };
}

async function main(): Promise<number> {
  // The SDK's notice about Node 22 from 2027 is not a measurement.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { values } = parseCommandLine('npm run bench:bridges', () =>
    parseArgs({ args: process.argv.slice(2), options: { batches: { type: 'string' }, 'batch-size': { type: 'string' }, imports: { type: 'string' }, help: { type: 'boolean' } }, strict: true }),
  );
  if (values.help) {
    console.log('npm run bench:bridges -- [--batches N (default 5)] [--batch-size N (default 10000)] [--imports N (default 20)]');
    return 0;
  }
  const batches = integerOption('batches', values.batches, 1) ?? 5;
  const batchSize = integerOption('batch-size', values['batch-size'], 1) ?? 10_000;
  const imports = integerOption('imports', values.imports, 1) ?? 20;
  const work = mkdtempSync(join(tmpdir(), 'dynalake-bench-bridges-'));
  try {
    console.log('1–2. bundles (minified, AWS SDK inside) and cold import, median of', imports, 'fresh node processes');
    const emptyEntry = join(work, 'empty.ts');
    writeFileSync(emptyEntry, 'export const handler = async () => undefined;\n');
    const bundles = join(work, 'bundles');
    const baselineMs = coldImportMs(bundle(emptyEntry, bundles).file, imports);
    for (const name of ['stream-to-lake', 'upload-to-glue']) {
      const size = bundle(lambdaEntry(name), bundles);
      const importMs = coldImportMs(size.file, imports);
      console.log(
        `   ${name.padEnd(15)} ${fmt(size.bytes / 1024)} KiB (${fmt(size.gzipBytes / 1024)} KiB gzipped); cold import ${fmt(importMs, 1)} ms (empty handler ${fmt(baselineMs, 1)} ms, ×${fmt(importMs / baselineMs, 1)})`,
      );
    }

    console.log(`3–4. stream-to-lake: ${String(batches)} batches of ${fmt(batchSize)} orders records → s3rver`);
    const s3 = await startLocalS3({ path: join(work, 's3') });
    try {
      const bucket = 'bench-landing';
      await ensureBuckets(s3.client, [bucket]);
      let startCalls = 0;
      const glue = new GlueClient({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
      // Glue cannot run here: answer StartWorkflowRun in-process and count the calls.
      glue.send = ((command: unknown) => {
        if (command instanceof StartWorkflowRunCommand) startCalls++;
        return Promise.resolve({ RunId: `run-${String(startCalls)}`, $metadata: {} });
      }) as GlueClient['send'];
      const dependencies = { s3: s3.client, glue, logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }), metrics: localStreamMetrics('orders'), landingBucket: bucket, workflowName: 'bench-refresh', dataset: 'orders' };
      const events = Array.from({ length: batches }, (_, batch) => ordersEvent(batchSize, 10n ** 20n + BigInt(batch * batchSize)));

      // Warm-up: first batch through both paths, not timed.
      await processStreamBatch(dependencies, ordersEvent(100, 1n));
      startCalls = 0;

      let handlerMs = 0;
      for (const event of events) {
        const started = performance.now();
        const result = await processStreamBatch(dependencies, event);
        handlerMs += performance.now() - started;
        if (result.response.batchItemFailures.length > 0 || result.recordsWritten !== batchSize) throw new Error('a bench batch failed');
      }
      // Baseline: the minimal handler, no validation, numbers as JS numbers, no batch processor.
      let putMs = 0;
      let objectBytes = 0;
      for (const [batch, event] of events.entries()) {
        const started = performance.now();
        const lines = event.Records.map((record) => {
          const stream = record.dynamodb;
          return `${JSON.stringify({
            eventName: record.eventName,
            keys: stream?.Keys ? unmarshall(stream.Keys as never) : null,
            newImage: stream?.NewImage ? unmarshall(stream.NewImage as never) : null,
            oldImage: stream?.OldImage ? unmarshall(stream.OldImage as never) : null,
            sequenceNumber: stream?.SequenceNumber,
            approximateCreationTime: stream?.ApproximateCreationDateTime,
          })}\n`;
        });
        const body = gzipSync(lines.join(''));
        objectBytes += body.byteLength;
        await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `baseline/${String(batch)}.jsonl.gz`, Body: body }));
        putMs += performance.now() - started;
      }
      const records = batches * batchSize;
      const handlerRate = (records * 1000) / handlerMs;
      const putRate = (records * 1000) / putMs;
      console.log(`   handler:  ${fmt(handlerRate)} records/s (${fmt(handlerMs / batches)} ms per batch)`);
      console.log(`   baseline: ${fmt(putRate)} records/s (minimal handler: unmarshall, JSON lines, gzip, PutObject)`);
      console.log(`   handler / baseline: ${fmt(handlerRate / putRate, 2)}; mean object ${fmt(objectBytes / batches / 1024)} KiB`);
      console.log(`   Glue StartWorkflowRun calls: ${String(startCalls)} for ${fmt(records)} records = ${fmt((startCalls * 10_000) / records, 2)} per 10,000 records (one per batch)`);
    } finally {
      await s3.close();
    }
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

runCli(main);
