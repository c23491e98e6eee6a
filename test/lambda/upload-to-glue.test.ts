import { randomUUID } from 'node:crypto';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ConcurrentRunsExceededException, EntityNotFoundException, GlueClient, StartJobRunCommand, ThrottlingException } from '@aws-sdk/client-glue';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createUploadToGlueHandler, DEFAULT_START_RETRY, handler, type UploadToGlueDependencies, uploadToGlueDependenciesFromEnvironment } from '../../lambda/upload-to-glue';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { localUploadMetrics } from '../../scripts/local/metrics';
import { emfMetrics, lambdaContext, printedLogs, uploadRecords } from '../helpers/lambda-fixtures';
import { useLocalDynamoDB } from '../helpers/local-dynamodb';
import { createBucket, getObjectBytes, useLocalS3 } from '../helpers/local-s3';

const JOB = 'dynalake-dev-csv_to_dynamodb';
const TABLE = 'dynalake-dev-storage-OrdersTable-XYZ';
const BUCKET = 'dynalake-dev-storage-landingbucket-1x2y3z4w5v6u';

const dynamodb = useLocalDynamoDB();
const s3 = useLocalS3();
// Glue cannot run here: its client is mocked (all instances), and reset before each test.
const glue = mockClient(GlueClient);
let logger: Logger;
let sleeps: number[];

beforeEach(() => {
  glue.reset();
  logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  sleeps = [];
});
afterAll(() => {
  glue.restore();
});

/** Glue answers each StartJobRun with a new run id: jr_1, jr_2, … */
function glueStartsRuns(): void {
  let runs = 0;
  glue.on(StartJobRunCommand).callsFake(() => ({ JobRunId: `jr_${String(++runs)}` }));
}

/** A fresh idempotency table in dynalite, shaped as the stack makes it. */
async function idempotencyTable(): Promise<string> {
  const tableName = `idempotency-${randomUUID()}`;
  await dynamodb().client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return tableName;
}

async function idempotencyRecords(tableName: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamodb().client.send(new ScanCommand({ TableName: tableName }));
  return Items.map((item) => unmarshall(item));
}

async function handlerWith(overrides: Partial<UploadToGlueDependencies> = {}) {
  const tableName = await idempotencyTable();
  const handler = createUploadToGlueHandler({
    glue: new GlueClient({ region: 'eu-west-1' }),
    logger,
    metrics: localUploadMetrics('orders'),
    persistenceStore: new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: dynamodb().client }),
    jobName: JOB,
    targetTableName: TABLE,
    sleep: (milliseconds) => {
      sleeps.push(milliseconds);
      return Promise.resolve();
    },
    random: () => 1,
    ...overrides,
  });
  return { tableName, handle: (event: S3Event) => handler(event, lambdaContext('upload-to-glue')) };
}

/** An event of the given records (each must exist: fixture indexes are checked, not trusted). */
function eventOf(...records: (S3EventRecord | undefined)[]): S3Event {
  const present = records.filter((record): record is S3EventRecord => record !== undefined);
  if (present.length !== records.length) throw new Error('no such fixture record');
  return { Records: present };
}

/** `record` as the notification of another write of its key: another ETag and sequencer. */
function rewritten(record: S3EventRecord | undefined, eTag: string): S3EventRecord | undefined {
  return record && { ...record, s3: { ...record.s3, object: { ...record.s3.object, eTag, sequencer: '00653C1E8B2A5F7E01' } } };
}

function startedArguments(): (Record<string, string> | undefined)[] {
  return glue.commandCalls(StartJobRunCommand).map((call) => call.args[0].input.Arguments);
}

describe('upload-to-glue', () => {
  it.each([
    [0, 'raw/my file.csv'],
    [1, 'raw/a+b.csv'],
    [2, 'raw/100%.csv'],
    [3, 'raw/données été 🚀.csv'],
  ])('starts csv_to_dynamodb for upload %i with the decoded key %s, its bucket and the table', async (index, key) => {
    glueStartsRuns();
    const { handle } = await handlerWith();

    const result = await handle(eventOf(uploadRecords()[index]));

    expect(glue.commandCalls(StartJobRunCommand).map((call) => call.args[0].input)).toEqual([{ JobName: JOB, Arguments: { '--S3_BUCKET': BUCKET, '--S3_KEY': key, '--DYNAMODB_TABLE': TABLE } }]);
    expect(result).toEqual({ started: [{ bucket: BUCKET, key, version: expect.any(String) as string, jobRunId: 'jr_1' }], skipped: [] });
  });

  it('logs each run it starts, with the Lambda context added to its logs', async () => {
    glueStartsRuns();
    const { handle } = await handlerWith();
    const info = jest.spyOn(logger, 'info');
    const addContext = jest.spyOn(logger, 'addContext');

    const result = await handle(eventOf(uploadRecords()[1]));

    const version = result.started[0]?.version;
    expect(info.mock.calls).toEqual([['csv_to_dynamodb run for the upload', { bucket: BUCKET, key: 'raw/a+b.csv', version, jobRunId: 'jr_1' }]]);
    expect(addContext.mock.calls).toEqual([[expect.objectContaining({ functionName: 'upload-to-glue', awsRequestId: lambdaContext('upload-to-glue').awsRequestId })]]);
  });

  it('runs without a Lambda context too (the local runtime), adding none to its logs', async () => {
    glueStartsRuns();
    const tableName = await idempotencyTable();
    const addContext = jest.spyOn(logger, 'addContext');
    const handle = createUploadToGlueHandler({
      glue: new GlueClient({ region: 'eu-west-1' }),
      logger,
      metrics: localUploadMetrics('orders'),
      persistenceStore: new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: dynamodb().client }),
      jobName: JOB,
      targetTableName: TABLE,
    });

    const result = await handle(eventOf(uploadRecords()[0]));

    expect(result.started).toEqual([expect.objectContaining({ key: 'raw/my file.csv', jobRunId: 'jr_1' })]);
    expect(addContext).not.toHaveBeenCalled();
  });

  it('does nothing for the test event S3 sends when a notification is set up (it has no Records)', async () => {
    const { handle } = await handlerWith();
    const testEvent = { Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-02T10:00:00.000Z', Bucket: BUCKET, RequestId: '5582815E1AEA5ADF', HostId: '8cLeGAmw' };
    expect(await handle(testEvent as unknown as S3Event)).toEqual({ started: [], skipped: [] });
    expect(glue.calls()).toHaveLength(0);
  });

  it('starts one run for a notification delivered twice, and answers the second with the first run id', async () => {
    glueStartsRuns();
    const { handle, tableName } = await handlerWith();
    const upload = uploadRecords()[0];

    const first = await handle(eventOf(upload));
    const second = await handle(eventOf(upload));

    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(1);
    expect(first.started).toEqual([{ bucket: BUCKET, key: 'raw/my file.csv', version: '0b3f7a1d6f1e4b2c8a9d0e1f2a3b4c5d', jobRunId: 'jr_1' }]);
    expect(second.started).toEqual(first.started);
    const records = await idempotencyRecords(tableName);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'COMPLETED' });
  });

  it('keeps the idempotency record for exactly 7 days: its expiration is the first write plus 604,800 seconds', async () => {
    glueStartsRuns();
    const { handle, tableName } = await handlerWith();
    // The clock powertools reads for the expiry, fixed so the stored value is exact.
    const firstWriteMs = Date.UTC(2026, 10, 2, 9, 30, 0);
    const clock = jest.spyOn(Date, 'now').mockReturnValue(firstWriteMs);
    try {
      await handle(eventOf(uploadRecords()[0]));
    } finally {
      clock.mockRestore();
    }

    const records = await idempotencyRecords(tableName);
    expect(records.map((record) => record.expiration)).toEqual([firstWriteMs / 1000 + 604_800]);
  });

  it('answers a redelivery from the record until 7 days have passed, and starts a new run after', async () => {
    glueStartsRuns();
    const { handle } = await handlerWith();
    const upload = uploadRecords()[0];
    const firstWriteMs = Date.UTC(2026, 10, 2, 9, 30, 0);
    const weekMs = 7 * 24 * 3600 * 1000;
    let nowMs = firstWriteMs;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => nowMs);
    try {
      const first = await handle(eventOf(upload));
      nowMs = firstWriteMs + weekMs - 1000;
      const lastDayOfTheWeek = await handle(eventOf(upload));
      nowMs = firstWriteMs + weekMs + 1000;
      const afterTheWeek = await handle(eventOf(upload));

      expect([first, lastDayOfTheWeek, afterTheWeek].map((result) => result.started.map((started) => started.jobRunId))).toEqual([['jr_1'], ['jr_1'], ['jr_2']]);
    } finally {
      clock.mockRestore();
    }
  });

  it('starts one run when one event names the same object twice', async () => {
    glueStartsRuns();
    const { handle } = await handlerWith();
    const upload = uploadRecords()[0];

    const result = await handle(eventOf(upload, upload));

    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(1);
    expect(result.started.map((started) => started.jobRunId)).toEqual(['jr_1', 'jr_1']);
  });

  it('starts another run for a new write of the same key (another ETag, or another version id)', async () => {
    glueStartsRuns();
    const { handle } = await handlerWith();
    const [upload, , , versioned] = uploadRecords();

    await handle(eventOf(upload));
    const again = await handle(eventOf(rewritten(upload, '5d41402abc4b2a76b9719d911017c592')));
    await handle(eventOf(versioned));
    const newVersion = versioned && { ...versioned, s3: { ...versioned.s3, object: { ...versioned.s3.object, versionId: 'Gb8xBy6A8ZIU5rPlzGKqGP4fvSmgf7Nn' } } };
    const versionAgain = await handle(eventOf(newVersion));

    expect(again.started).toEqual([{ bucket: BUCKET, key: 'raw/my file.csv', version: '5d41402abc4b2a76b9719d911017c592', jobRunId: 'jr_2' }]);
    expect(versionAgain.started).toEqual([{ bucket: BUCKET, key: 'raw/données été 🚀.csv', version: 'Gb8xBy6A8ZIU5rPlzGKqGP4fvSmgf7Nn', jobRunId: 'jr_4' }]);
    expect(startedArguments().map((args) => args?.['--S3_KEY'])).toEqual(['raw/my file.csv', 'raw/my file.csv', 'raw/données été 🚀.csv', 'raw/données été 🚀.csv']);
  });

  it('skips records that name no CSV upload, logging each reason, and starts nothing', async () => {
    const { handle, tableName } = await handlerWith();
    const warn = jest.spyOn(logger, 'warn');

    const result = await handle(eventOf(...uploadRecords().slice(4)));

    const skipped = [
      { reason: 'outside-filter', detail: `s3://${BUCKET}/raw/notes.txt is not raw/*.csv` },
      { reason: 'outside-filter', detail: `s3://${BUCKET}/other/x.csv is not raw/*.csv` },
      { reason: 'empty-object', detail: `s3://${BUCKET}/raw/empty.csv is empty` },
      { reason: 'not-object-created', detail: 'event ObjectRemoved:Delete' },
      { reason: 'malformed', detail: 'record without s3.bucket.name, s3.object.key or a version, ETag or sequencer' },
      { reason: 'malformed', detail: 's3.object.key "raw/bad%E0%A4%A.csv" is not URL-encoded' },
    ];
    expect(result).toEqual({ started: [], skipped });
    expect(warn.mock.calls).toEqual(skipped.map((entry) => ['record skipped', entry]));
    expect(glue.calls()).toHaveLength(0);
    expect(await idempotencyRecords(tableName)).toEqual([]);
  });

  it("filters on the construct's prefix and suffix when given them, an empty suffix taking any key under the prefix", async () => {
    glueStartsRuns();
    const { handle } = await handlerWith({ filter: { prefix: 'raw/a', suffix: '' } });
    const withKey = (key: string): S3EventRecord => {
      const [record] = uploadRecords();
      if (record === undefined) throw new Error('the upload fixture has no record');
      return { ...record, s3: { ...record.s3, object: { ...record.s3.object, key } } };
    };

    const result = await handle(eventOf(withKey('raw/a+b.csv'), withKey('raw/a.json'), withKey('raw/my+file.csv')));

    expect(result.started.map((started) => started.key)).toEqual(['raw/a b.csv', 'raw/a.json']);
    expect(result.skipped).toEqual([{ reason: 'outside-filter', detail: `s3://${BUCKET}/raw/my file.csv is not raw/a*` }]);
  });

  it('starts the uploads of a mixed event and skips the rest', async () => {
    glueStartsRuns();
    const { handle } = await handlerWith();

    const result = await handle(eventOf(...uploadRecords()));

    expect(result.started.map((started) => started.key)).toEqual(['raw/my file.csv', 'raw/a+b.csv', 'raw/100%.csv', 'raw/données été 🚀.csv']);
    expect(result.skipped).toHaveLength(6);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(4);
  });

  it('prints one EMF line per event: uploads seen, runs started, redeliveries answered from their record and keys skipped', async () => {
    glueStartsRuns();
    const metrics = new Metrics({ namespace: 'dynalake', serviceName: 'upload-to-glue', defaultDimensions: { dataset: 'orders' } });
    const { handle } = await handlerWith({ metrics });
    const [first, second] = uploadRecords();
    await printedLogs(() => handle(eventOf(first)));

    const lines = await printedLogs(() => handle(eventOf(first, second, ...uploadRecords().slice(4))));

    expect(lines).toHaveLength(1);
    expect(emfMetrics(lines[0] ?? {})).toEqual({
      namespace: 'dynalake',
      dimensions: { service: 'upload-to-glue', dataset: 'orders' },
      metrics: {
        UploadsSeen: { unit: 'Count', value: 2 },
        JobRunsStarted: { unit: 'Count', value: 1 },
        DuplicateDeliveriesSkipped: { unit: 'Count', value: 1 },
        KeysSkipped: { unit: 'Count', value: uploadRecords().slice(4).length },
      },
    });
  });

  it('still prints the line when a start fails, counting the upload seen and no run', async () => {
    glue.on(StartJobRunCommand).rejects(new EntityNotFoundException({ message: 'no such job', $metadata: {} }));
    const metrics = new Metrics({ namespace: 'dynalake', serviceName: 'upload-to-glue', defaultDimensions: { dataset: 'orders' } });
    const { handle } = await handlerWith({ metrics });
    const lines = await printedLogs(() => handle(eventOf(uploadRecords()[0])).catch(() => undefined));
    expect(emfMetrics(lines[0] ?? {}).metrics).toMatchObject({ UploadsSeen: { value: 1 }, JobRunsStarted: { value: 0 }, DuplicateDeliveriesSkipped: { value: 0 } });
  });

  it('waits and retries while Glue answers ConcurrentRunsExceeded, with full-jitter backoff', async () => {
    const busy = new ConcurrentRunsExceededException({ message: `Concurrent runs exceeded for ${JOB}`, $metadata: {} });
    glue.on(StartJobRunCommand).rejectsOnce(busy).rejectsOnce(busy).resolves({ JobRunId: 'jr_after_wait' });
    const { handle } = await handlerWith();
    const warn = jest.spyOn(logger, 'warn');

    const result = await handle(eventOf(uploadRecords()[0]));

    expect(result.started).toEqual([expect.objectContaining({ key: 'raw/my file.csv', jobRunId: 'jr_after_wait' })]);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(3);
    // random() = 1: the whole window, base × 2^(attempt-1).
    expect(sleeps).toEqual([1000, 2000]);
    expect(warn.mock.calls).toEqual([
      ['Glue cannot start the job yet; retrying', { jobName: JOB, attempt: 1, delayMs: 1000, error: 'ConcurrentRunsExceededException' }],
      ['Glue cannot start the job yet; retrying', { jobName: JOB, attempt: 2, delayMs: 2000, error: 'ConcurrentRunsExceededException' }],
    ]);
  });

  it('gives up after maxAttempts, leaving no idempotency record, so a redelivery can start the run', async () => {
    glue.on(StartJobRunCommand).rejects(new ConcurrentRunsExceededException({ message: `Concurrent runs exceeded for ${JOB}`, $metadata: {} }));
    const { handle, tableName } = await handlerWith({ retry: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 3000 } });
    const upload = uploadRecords()[0];

    await expect(handle(eventOf(upload))).rejects.toBeInstanceOf(ConcurrentRunsExceededException);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(4);
    // Capped at maxDelayMs; no wait after the last attempt.
    expect(sleeps).toEqual([1000, 2000, 3000]);
    expect(await idempotencyRecords(tableName)).toEqual([]);

    glue.reset();
    glue.on(StartJobRunCommand).resolves({ JobRunId: 'jr_redelivered' });
    const redelivered = await handle(eventOf(upload));
    expect(redelivered.started).toEqual([expect.objectContaining({ jobRunId: 'jr_redelivered' })]);
  });

  it('by default tries six times, waiting at most 1, 2, 4, 8 and 16 seconds between tries', async () => {
    glue.on(StartJobRunCommand).rejects(new ConcurrentRunsExceededException({ message: `Concurrent runs exceeded for ${JOB}`, $metadata: {} }));
    const { handle } = await handlerWith();

    await expect(handle(eventOf(uploadRecords()[0]))).rejects.toBeInstanceOf(ConcurrentRunsExceededException);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(DEFAULT_START_RETRY.maxAttempts);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('retries a throttled StartJobRun the same way', async () => {
    const throttled = new ThrottlingException({ message: 'Rate exceeded', $metadata: {} });
    glue.on(StartJobRunCommand).rejectsOnce(throttled).resolves({ JobRunId: 'jr_after_throttle' });
    const { handle } = await handlerWith();

    const result = await handle(eventOf(uploadRecords()[1]));

    expect(result.started).toEqual([expect.objectContaining({ key: 'raw/a+b.csv', jobRunId: 'jr_after_throttle' })]);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(2);
    expect(sleeps).toEqual([1000]);
  });

  it('retries a throttling error by its name, from whichever client class it comes', async () => {
    // Not an instance of the Glue client's ThrottlingException: as another copy of the SDK would throw it.
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    glue.on(StartJobRunCommand).rejectsOnce(throttled).resolves({ JobRunId: 'jr_after_throttle' });
    const { handle } = await handlerWith();

    const result = await handle(eventOf(uploadRecords()[1]));

    expect(result.started).toEqual([expect.objectContaining({ jobRunId: 'jr_after_throttle' })]);
    expect(sleeps).toEqual([1000]);
  });

  it('waits on a real timer by default, for the backoff delay', async () => {
    const busy = new ConcurrentRunsExceededException({ message: `Concurrent runs exceeded for ${JOB}`, $metadata: {} });
    glue.on(StartJobRunCommand).rejectsOnce(busy).resolves({ JobRunId: 'jr_after_wait' });
    // A pass-through spy: the wait really happens (5 ms), the spy only sees the timer set for it.
    const setTimer = jest.spyOn(global, 'setTimeout');
    try {
      const { handle } = await handlerWith({ sleep: undefined, retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 5 } });

      const result = await handle(eventOf(uploadRecords()[0]));

      expect(result.started).toEqual([expect.objectContaining({ jobRunId: 'jr_after_wait' })]);
      expect(setTimer).toHaveBeenCalledWith(expect.any(Function), 5);
    } finally {
      setTimer.mockRestore();
    }
  });

  it('fails when Glue starts the job without returning a run id, and does not retry', async () => {
    glue.on(StartJobRunCommand).resolves({});
    const { handle } = await handlerWith();

    await expect(handle(eventOf(uploadRecords()[0]))).rejects.toThrow(new Error(`StartJobRun of ${JOB} returned no JobRunId`));
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('gives up on a throttled StartJobRun after maxAttempts too', async () => {
    glue.on(StartJobRunCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    const { handle } = await handlerWith({ retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 20_000 } });

    await expect(handle(eventOf(uploadRecords()[1]))).rejects.toBeInstanceOf(ThrottlingException);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(2);
    expect(sleeps).toEqual([500]);
  });

  it.each([
    // Default policy: windows of 1, 2, 4, 8 and 16 seconds; each wait is floor(random() × window).
    [0, [0, 0, 0, 0, 0]],
    [0.5, [500, 1000, 2000, 4000, 8000]],
    [0.999, [999, 1998, 3996, 7992, 15984]],
  ])('with random() = %d waits that share of each window: %j ms (full jitter)', async (draw, expected) => {
    glue.on(StartJobRunCommand).rejects(new ConcurrentRunsExceededException({ message: `Concurrent runs exceeded for ${JOB}`, $metadata: {} }));
    const { handle } = await handlerWith({ random: () => draw });

    await expect(handle(eventOf(uploadRecords()[0]))).rejects.toBeInstanceOf(ConcurrentRunsExceededException);
    expect(sleeps).toEqual(expected);
  });

  it('draws a new random share for every wait, of the window capped at maxDelayMs', async () => {
    glue.on(StartJobRunCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    const draws = [0.25, 0.75, 0.1, 0.9];
    const { handle } = await handlerWith({ retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 3000 }, random: () => draws.shift() ?? Number.NaN });

    await expect(handle(eventOf(uploadRecords()[1]))).rejects.toBeInstanceOf(ThrottlingException);
    // Windows 1000, 2000, 3000 (4000 capped), 3000 (8000 capped).
    expect(sleeps).toEqual([250, 1500, 300, 2700]);
    expect(draws).toEqual([]);
  });

  it('does not retry a Glue error that waiting cannot fix', async () => {
    glue.on(StartJobRunCommand).rejects(new EntityNotFoundException({ message: `Job ${JOB} not found`, $metadata: {} }));
    const { handle } = await handlerWith();

    await expect(handle(eventOf(uploadRecords()[0]))).rejects.toBeInstanceOf(EntityNotFoundException);
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('hands the job the key of a real upload, from the notification S3 sends for it', async () => {
    glueStartsRuns();
    const bucket = await createBucket(s3(), 'landing');
    const key = 'raw/Q4 sales+returns é.csv';
    const body = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n';
    const notified = new Promise<S3Event>((resolve) => {
      s3().onEvent((event) => {
        if (event.Records[0]?.s3.bucket.name === bucket) resolve(event);
      });
    });
    await s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const event = await notified;
    expect(event.Records[0]?.s3.object.key).toBe('raw/Q4+sales%2Breturns+%C3%A9.csv');
    const { handle } = await handlerWith();

    const result = await handle(event);

    expect(startedArguments()).toEqual([{ '--S3_BUCKET': bucket, '--S3_KEY': key, '--DYNAMODB_TABLE': TABLE }]);
    expect(result.started).toEqual([expect.objectContaining({ bucket, key })]);
    // The key the job gets opens the uploaded object.
    expect(Buffer.from(await getObjectBytes(s3(), bucket, key)).toString('utf8')).toBe(body);
  });
});

describe('uploadToGlueDependenciesFromEnvironment', () => {
  it('rejects missing variables with one message naming them all', () => {
    expect(() => uploadToGlueDependenciesFromEnvironment({ TARGET_TABLE_NAME: TABLE })).toThrow(new Error('missing environment variables: GLUE_JOB_NAME, IDEMPOTENCY_TABLE_NAME, UPLOAD_PREFIX, DATASET'));
  });

  it('takes an empty UPLOAD_SUFFIX (any key under the prefix) but not a missing one', () => {
    const complete = { GLUE_JOB_NAME: JOB, TARGET_TABLE_NAME: TABLE, IDEMPOTENCY_TABLE_NAME: 'idempotency', UPLOAD_PREFIX: 'incoming/', DATASET: 'orders' };
    expect(() => uploadToGlueDependenciesFromEnvironment(complete)).toThrow(new Error('missing environment variable: UPLOAD_SUFFIX'));
    const built = uploadToGlueDependenciesFromEnvironment({ ...complete, UPLOAD_SUFFIX: '' });
    built.glue.destroy();
    expect(built.filter).toEqual({ prefix: 'incoming/', suffix: '' });
  });

  it.each(['cdc/orders', 'orders ', ''])('rejects a DATASET that is no dataset name: %j', (dataset) => {
    const environment = { GLUE_JOB_NAME: JOB, TARGET_TABLE_NAME: TABLE, IDEMPOTENCY_TABLE_NAME: 'idempotency', UPLOAD_PREFIX: 'raw/', UPLOAD_SUFFIX: '.csv', DATASET: dataset };
    expect(() => uploadToGlueDependenciesFromEnvironment(environment)).toThrow(dataset === '' ? 'missing environment variable' : `environment variable DATASET is ${JSON.stringify(dataset)}, not a dataset name`);
  });

  it('builds the dependencies from a complete environment', () => {
    const built = uploadToGlueDependenciesFromEnvironment({ GLUE_JOB_NAME: JOB, TARGET_TABLE_NAME: TABLE, IDEMPOTENCY_TABLE_NAME: 'idempotency', UPLOAD_PREFIX: 'raw/', UPLOAD_SUFFIX: '.csv', DATASET: 'orders' });
    try {
      expect(built).toMatchObject({ jobName: JOB, targetTableName: TABLE, filter: { prefix: 'raw/', suffix: '.csv' } });
      expect(built.persistenceStore).toBeInstanceOf(DynamoDBPersistenceLayer);
      expect(built.metrics).toBeInstanceOf(Metrics);
    } finally {
      built.glue.destroy();
    }
  });
});

describe('handler (the Lambda entry)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('builds its dependencies from the environment on the first event that finds it complete, and keeps them', async () => {
    glueStartsRuns();
    const context = lambdaContext('upload-to-glue');
    const event = eventOf(uploadRecords()[0]);
    await expect(handler(event, context)).rejects.toThrow(new Error('missing environment variables: GLUE_JOB_NAME, TARGET_TABLE_NAME, IDEMPOTENCY_TABLE_NAME, UPLOAD_PREFIX, DATASET'));

    const tableName = await idempotencyTable();
    // The idempotency store's own DynamoDB client finds dynalite through the SDK's endpoint variable.
    Object.assign(process.env, {
      GLUE_JOB_NAME: JOB,
      TARGET_TABLE_NAME: TABLE,
      IDEMPOTENCY_TABLE_NAME: tableName,
      UPLOAD_PREFIX: 'raw/',
      UPLOAD_SUFFIX: '.csv',
      DATASET: 'orders',
      METRICS_NAMESPACE: 'dynalake-dev',
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb().endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const logs = await printedLogs(() => handler(event, context));

    expect(startedArguments()).toEqual([{ '--S3_BUCKET': BUCKET, '--S3_KEY': 'raw/my file.csv', '--DYNAMODB_TABLE': TABLE }]);
    const [log, emf] = logs;
    expect(logs).toHaveLength(2);
    expect(log).toEqual(expect.objectContaining({ level: 'INFO', message: 'csv_to_dynamodb run for the upload', service: 'dynalake-upload-to-glue', jobRunId: 'jr_1' }));
    // The EMF line CloudWatch reads from the function's log: the namespace and dataset of its environment.
    expect(emfMetrics(emf ?? {})).toEqual({
      namespace: 'dynalake-dev',
      dimensions: { service: 'upload-to-glue', dataset: 'orders' },
      metrics: {
        UploadsSeen: { unit: 'Count', value: 1 },
        JobRunsStarted: { unit: 'Count', value: 1 },
        DuplicateDeliveriesSkipped: { unit: 'Count', value: 0 },
        KeysSkipped: { unit: 'Count', value: 0 },
      },
    });
    expect(await idempotencyRecords(tableName)).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);

    // Built once: the redelivery does not read the environment again, and finds its record.
    delete process.env.GLUE_JOB_NAME;
    const redelivery = await printedLogs(() => handler(event, context));
    expect(glue.commandCalls(StartJobRunCommand)).toHaveLength(1);
    expect(emfMetrics(redelivery[1] ?? {}).metrics).toEqual({
      UploadsSeen: { unit: 'Count', value: 1 },
      JobRunsStarted: { unit: 'Count', value: 0 },
      DuplicateDeliveriesSkipped: { unit: 'Count', value: 1 },
      KeysSkipped: { unit: 'Count', value: 0 },
    });
  });
});
