import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, S3Event, S3EventRecord } from 'aws-lambda';
import type { ChangeRecord } from '../../lambda/shared/cdc';

const FIXTURES = join(__dirname, '..', 'fixtures');

/** A fixture file, parsed afresh on every call (so a test may change what it gets). */
function fixture(...path: string[]): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, ...path), 'utf8'));
}

/** A stream batch under test/fixtures/streams/, as Lambda hands it to the function. */
export function streamBatch(name: 'orders-batch' | 'campaign-batch'): DynamoDBStreamEvent & { readonly Records: DynamoDBRecord[] } {
  return fixture('streams', `${name}.json`) as DynamoDBStreamEvent & { Records: DynamoDBRecord[] };
}

/** The change records a stream batch must become, written out by hand beside the batch. */
export function expectedChanges(name: 'orders-batch' | 'campaign-batch'): ChangeRecord[] {
  return (fixture('streams', `${name}.changes.json`) as { changes: ChangeRecord[] }).changes;
}

/** The S3 notification records of test/fixtures/s3-events/uploads.json. */
export function uploadRecords(): S3EventRecord[] {
  return (fixture('s3-events', 'uploads.json') as S3Event).Records;
}

/** The golden batch of the orders_to_lake job (input changes and the curated rows expected after them). */
export function ordersToLakeGolden(): { readonly changes: ChangeRecord[]; readonly rows: readonly { readonly invoice_no: string; readonly line_no: number; readonly quantity: number }[] } {
  const input = fixture('etl', 'orders_to_lake', 'input.json') as { changes: ChangeRecord[] };
  const expected = fixture('etl', 'orders_to_lake', 'expected.json') as { rows: { invoice_no: string; line_no: number; quantity: number }[] };
  return { changes: input.changes, rows: expected.rows };
}

/** A Lambda context with a minute left, as the runtime passes it. */
export function lambdaContext(functionName: string): Context {
  // Without done/fail/succeed: deprecated callbacks that nothing here may call.
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/02/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    getRemainingTimeInMillis: () => 60_000,
  };
  return context as Context;
}

/** The JSON lines that Powertools loggers print to stdout while `action` runs (kept off the test output). */
export async function printedLogs(action: () => unknown): Promise<Record<string, unknown>[]> {
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await action();
    return write.mock.calls.map(([chunk]) => JSON.parse(String(chunk)) as Record<string, unknown>);
  } finally {
    write.mockRestore();
  }
}

/** An EMF document read back: its namespace, its one dimension set with the values, and each metric's unit and value. */
export interface EmfMetrics {
  readonly namespace: string;
  readonly dimensions: Record<string, unknown>;
  readonly metrics: Record<string, { readonly unit: string; readonly value: unknown }>;
}

/** Reads an embedded-metric-format document as CloudWatch does: the directive under `_aws`, the values at the top level. */
export function emfMetrics(document: Record<string, unknown>): EmfMetrics {
  const directive = document._aws as { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  expect(directive.CloudWatchMetrics).toHaveLength(1);
  expect(directive.Timestamp).toEqual(expect.any(Number));
  const [{ Namespace, Dimensions, Metrics }] = directive.CloudWatchMetrics as [(typeof directive.CloudWatchMetrics)[number]];
  expect(Dimensions).toHaveLength(1);
  return {
    namespace: Namespace,
    dimensions: Object.fromEntries((Dimensions[0] ?? []).map((name) => [name, document[name]])),
    metrics: Object.fromEntries(Metrics.map(({ Name, Unit }) => [Name, { unit: Unit, value: document[Name] }])),
  };
}
