import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { ConcurrentRunsExceededException, EntityNotFoundException, GlueClient, StartWorkflowRunCommand, ThrottlingException } from '@aws-sdk/client-glue';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { decodeChangeObject } from '../../lambda/shared/cdc';
import { createStreamToLakeHandler, handler, processStreamBatch, type StreamToLakeDependencies, streamToLakeDependenciesFromEnvironment } from '../../lambda/stream-to-lake';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { decodeChangeObject as decode, encodeChangeObject } from '../../lambda/shared/cdc';
import { localStreamMetrics } from '../../scripts/local/metrics';
import { emfMetrics, expectedChanges, lambdaContext, printedLogs, streamBatch } from '../helpers/lambda-fixtures';
import { createBucket, getObjectBytes, listKeys, useLocalS3 } from '../helpers/local-s3';

const WORKFLOW = 'dynalake-dev-refresh';
const LABEL = '2026-11-01T000000.000';
const ORDERS_KEY = `cdc/orders/dt=2026-11-02/${LABEL}-900000000000000000101-1000000000000000000108.jsonl.gz`;
const FIRST_SEQUENCE = '900000000000000000101';

const local = useLocalS3();
// Glue cannot run here: its client is mocked (all instances), and reset before each test.
const glue = mockClient(GlueClient);
let logger: Logger;

beforeEach(() => {
  glue.reset();
  logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
});
afterAll(() => {
  glue.restore();
});

function dependencies(landingBucket: string, overrides: Partial<StreamToLakeDependencies> = {}): StreamToLakeDependencies {
  // Metrics kept, not printed, unless a test gives the real Powertools Metrics and reads stdout.
  return { s3: local().client, glue: new GlueClient({ region: 'eu-west-1' }), logger, metrics: localStreamMetrics('orders'), landingBucket, workflowName: WORKFLOW, dataset: 'orders', ...overrides };
}

async function objectRecords(bucket: string, key: string) {
  return decodeChangeObject(await getObjectBytes(local(), bucket, key), key);
}

describe('stream-to-lake on the orders batch', () => {
  it('writes the batch as exactly one CDC object, every record as the stream sent it, and starts the workflow once', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0001' });
    const batch = streamBatch('orders-batch');
    const info = jest.spyOn(logger, 'info');
    const error = jest.spyOn(logger, 'error');

    const result = await processStreamBatch(dependencies(bucket), batch, lambdaContext('stream-to-lake'));

    expect(result).toEqual({ response: { batchItemFailures: [] }, objectKey: ORDERS_KEY, recordsWritten: 8, workflow: { runId: 'wr_0001' } });
    expect(info.mock.calls).toEqual([
      ['change object written', { objectKey: ORDERS_KEY, records: 8 }],
      ['refresh workflow started', { workflowName: WORKFLOW, runId: 'wr_0001' }],
    ]);
    expect(error).not.toHaveBeenCalled();
    expect(await listKeys(local(), bucket)).toEqual([ORDERS_KEY]);
    const records = await objectRecords(bucket, ORDERS_KEY);
    expect(records).toStrictEqual(expectedChanges('orders-batch'));
    expect(records).toHaveLength(batch.Records.length);
    records.forEach((change, index) => {
      const source = batch.Records[index]?.dynamodb;
      expect(change.eventName).toBe(batch.Records[index]?.eventName);
      expect(change.sequenceNumber).toBe(source?.SequenceNumber);
      expect(change.approximateCreationTime).toBe(source?.ApproximateCreationDateTime);
      expect(change.keys).toStrictEqual({ InvoiceNo: source?.Keys?.InvoiceNo?.S, LineNo: Number(source?.Keys?.LineNo?.N) });
      if (change.eventName === 'INSERT') expect(change.oldImage).toBeNull();
      if (change.eventName === 'REMOVE') expect(change.newImage).toBeNull();
      else expect(change.newImage).toMatchObject({ InvoiceNo: source?.NewImage?.InvoiceNo?.S, StockCode: source?.NewImage?.StockCode?.S, Quantity: Number(source?.NewImage?.Quantity?.N) });
    });
    // The exact numbers: a price kept as written, and a customer id beyond 2^53 as its string.
    expect(records[3]?.newImage).toMatchObject({ UnitPrice: 38970, CustomerID: 15098 });
    expect(records[4]?.newImage).toMatchObject({ UnitPrice: 0.001 });
    expect(records[4]?.newImage).not.toHaveProperty('CustomerID');
    expect(records[6]?.newImage?.CustomerID).toBe('9007199254740993');

    expect(glue.calls()).toHaveLength(1);
    expect(glue.commandCalls(StartWorkflowRunCommand)[0]?.args[0].input).toEqual({ Name: WORKFLOW });
  });

  it('adds the Lambda context to the logger when the handler gets one', async () => {
    const bucket = await createBucket(local(), 'landing');
    const addContext = jest.spyOn(logger, 'addContext');
    const handle = createStreamToLakeHandler(dependencies(bucket));

    await handle({ Records: [] });
    expect(addContext).not.toHaveBeenCalled();
    const context = lambdaContext('stream-to-lake');
    await handle({ Records: [] }, context);
    expect(addContext.mock.calls).toEqual([[context]]);
  });

  it('reports a run id of "" when Glue starts the workflow without returning one', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({});
    const result = await processStreamBatch(dependencies(bucket), streamBatch('orders-batch'));
    expect(result.workflow).toEqual({ runId: '' });
  });

  it('lands a redelivered batch on the same object with the same bytes', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0001' });
    const handler = createStreamToLakeHandler(dependencies(bucket));

    expect(await handler(streamBatch('orders-batch'), lambdaContext('stream-to-lake'))).toEqual({ batchItemFailures: [] });
    const first = await getObjectBytes(local(), bucket, ORDERS_KEY);
    expect(await handler(streamBatch('orders-batch'), lambdaContext('stream-to-lake'))).toEqual({ batchItemFailures: [] });

    expect(await listKeys(local(), bucket)).toEqual([ORDERS_KEY]);
    expect(Buffer.from(await getObjectBytes(local(), bucket, ORDERS_KEY)).equals(Buffer.from(first))).toBe(true);
    // One workflow start per delivered batch.
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(2);
  });

  it('takes ConcurrentRunsExceeded as success: the object stays, nothing is retried, and it says so', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).rejects(new ConcurrentRunsExceededException({ message: `Concurrent runs exceeded for workflow: ${WORKFLOW}`, $metadata: {} }));
    const info = jest.spyOn(logger, 'info');

    const result = await processStreamBatch(dependencies(bucket), streamBatch('orders-batch'));

    expect(result).toEqual({ response: { batchItemFailures: [] }, objectKey: ORDERS_KEY, recordsWritten: 8, workflow: { skipped: 'already-running' } });
    expect(await listKeys(local(), bucket)).toEqual([ORDERS_KEY]);
    expect(info).toHaveBeenCalledWith('refresh workflow already running; the next run picks the change up', { workflowName: WORKFLOW });
    expect(glue.calls()).toHaveLength(1);
  });

  it('throws on any other Glue error after writing the object, and the retried batch then succeeds on the same object', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    const handler = createStreamToLakeHandler(dependencies(bucket));

    await expect(handler(streamBatch('orders-batch'))).rejects.toBeInstanceOf(ThrottlingException);
    expect(await listKeys(local(), bucket)).toEqual([ORDERS_KEY]);
    const written = await getObjectBytes(local(), bucket, ORDERS_KEY);

    glue.reset();
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0002' });
    expect(await handler(streamBatch('orders-batch'))).toEqual({ batchItemFailures: [] });
    expect(await listKeys(local(), bucket)).toEqual([ORDERS_KEY]);
    expect(Buffer.from(await getObjectBytes(local(), bucket, ORDERS_KEY)).equals(Buffer.from(written))).toBe(true);
    expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(1);
  });

  it('throws a Glue error that is not about concurrency (a missing workflow) too', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).rejects(new EntityNotFoundException({ message: `Entity not found: ${WORKFLOW}`, $metadata: {} }));
    await expect(processStreamBatch(dependencies(bucket), streamBatch('orders-batch'))).rejects.toBeInstanceOf(EntityNotFoundException);
  });

  it('reports the whole batch failed from its first record when S3 refuses the write, and does not start the workflow', async () => {
    const missing = `dynalake-missing-${randomUUID()}`;
    const error = jest.spyOn(logger, 'error');

    const result = await processStreamBatch(dependencies(missing), streamBatch('orders-batch'));

    expect(result).toEqual({ response: { batchItemFailures: [{ itemIdentifier: FIRST_SEQUENCE }] }, objectKey: ORDERS_KEY, recordsWritten: 0, workflow: { skipped: 'write-failed' } });
    expect(error).toHaveBeenCalledWith('writing the change object failed: the whole batch will be retried', { objectKey: ORDERS_KEY, error: expect.objectContaining({ name: 'NoSuchBucket' }) as Error });
    expect(glue.calls()).toHaveLength(0);
  });

  it('writes the records before a malformed one and reports the batch failed from it', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0003' });
    const error = jest.spyOn(logger, 'error');
    const batch = streamBatch('orders-batch');
    // Record 6 (536367/1) as a NEW_IMAGE stream would send it: a MODIFY without its old image.
    delete batch.Records[6]?.dynamodb?.OldImage;

    const result = await processStreamBatch(dependencies(bucket), batch);

    const key = `cdc/orders/dt=2026-11-02/${LABEL}-900000000000000000101-1000000000000000000106.jsonl.gz`;
    expect(result).toEqual({ response: { batchItemFailures: [{ itemIdentifier: '1000000000000000000107' }] }, objectKey: key, recordsWritten: 6, workflow: { runId: 'wr_0003' } });
    expect(await listKeys(local(), bucket)).toEqual([key]);
    expect(await objectRecords(bucket, key)).toStrictEqual(expectedChanges('orders-batch').slice(0, 6));
    expect(error).toHaveBeenCalledWith('malformed stream records: retrying from the first', {
      firstFailedSequenceNumber: '1000000000000000000107',
      failures: ['stream record 1000000000000000000107: MODIFY without dynamodb.OldImage (the stream must send NEW_AND_OLD_IMAGES)'],
    });
    expect(glue.calls()).toHaveLength(1);
  });

  it('reports a batch whose every record is malformed failed from its first record, without throwing', async () => {
    const bucket = await createBucket(local(), 'landing');
    const batch = streamBatch('orders-batch');
    for (const record of batch.Records) record.eventName = 'UPDATE' as 'MODIFY';

    const result = await processStreamBatch(dependencies(bucket), batch);

    expect(result).toEqual({ response: { batchItemFailures: [{ itemIdentifier: FIRST_SEQUENCE }] }, recordsWritten: 0, workflow: { skipped: 'no-records' } });
    expect(await listKeys(local(), bucket)).toEqual([]);
    expect(glue.calls()).toHaveLength(0);
  });

  it('writes nothing and starts nothing when the first record is malformed', async () => {
    const bucket = await createBucket(local(), 'landing');
    const batch = streamBatch('orders-batch');
    if (batch.Records[0]) batch.Records[0].eventName = 'UPDATE' as 'MODIFY';

    const result = await processStreamBatch(dependencies(bucket), batch);

    expect(result).toEqual({ response: { batchItemFailures: [{ itemIdentifier: FIRST_SEQUENCE }] }, recordsWritten: 0, workflow: { skipped: 'no-records' } });
    expect(await listKeys(local(), bucket)).toEqual([]);
    expect(glue.calls()).toHaveLength(0);
  });

  it('fails the whole batch (an empty item identifier) when the malformed record has no sequence number to retry from', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0004' });
    const batch = streamBatch('orders-batch');
    delete batch.Records[2]?.dynamodb?.SequenceNumber;

    const result = await processStreamBatch(dependencies(bucket), batch);

    // An empty list would tell Lambda the batch succeeded, dropping records 2 to 7.
    expect(result.response).toEqual({ batchItemFailures: [{ itemIdentifier: '' }] });
    expect(result.recordsWritten).toBe(2);
  });

  it('fails the whole batch too when the malformed record has no dynamodb part at all', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0004' });
    const error = jest.spyOn(logger, 'error');
    const batch = streamBatch('orders-batch');
    if (batch.Records[1]) delete batch.Records[1].dynamodb;

    const result = await processStreamBatch(dependencies(bucket), batch);

    expect(result.response).toEqual({ batchItemFailures: [{ itemIdentifier: '' }] });
    expect(result.recordsWritten).toBe(1);
    expect(error).toHaveBeenCalledWith('malformed stream records: retrying from the first', {
      firstFailedSequenceNumber: '',
      failures: ['stream record (no SequenceNumber): dynamodb.SequenceNumber must be a decimal string'],
    });
  });

  const preconditionFailed = 'At least one of the pre-conditions you specified did not hold';
  it.each([
    ['PreconditionFailed, status 412', new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: preconditionFailed })],
    ['PreconditionFailed with no status', new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: {}, message: preconditionFailed })],
    // A 412 whose error body the SDK could not read.
    ['status 412 under another name', new S3ServiceException({ name: 'Unknown', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'UnknownError' })],
  ])('treats an object already written (%s on If-None-Match) as success and still starts the workflow', async (_case, refusal) => {
    // The mocked S3 calls: s3rver ignores If-None-Match and overwrites, so only a mock can answer 412.
    const s3 = new S3Client({ region: 'eu-west-1' });
    const s3Mock = mockClient(s3);
    try {
      s3Mock.on(PutObjectCommand).rejects(refusal);
      glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0005' });
      const info = jest.spyOn(logger, 'info');

      const result = await processStreamBatch(dependencies('dynalake-dev-landing', { s3 }), streamBatch('orders-batch'));

      expect(result).toEqual({ response: { batchItemFailures: [] }, objectKey: ORDERS_KEY, recordsWritten: 8, workflow: { runId: 'wr_0005' } });
      expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: 'dynalake-dev-landing', Key: ORDERS_KEY, IfNoneMatch: '*', ContentType: 'application/gzip' });
      expect(info).toHaveBeenCalledWith('change object already written by an earlier attempt', { objectKey: ORDERS_KEY });
      expect(glue.commandCalls(StartWorkflowRunCommand)).toHaveLength(1);
    } finally {
      s3Mock.restore();
    }
  });

  it('fails the batch on a write error that carries no HTTP metadata (a dropped connection)', async () => {
    const s3 = new S3Client({ region: 'eu-west-1' });
    const s3Mock = mockClient(s3);
    try {
      const dropped = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      s3Mock.on(PutObjectCommand).rejects(dropped);

      const result = await processStreamBatch(dependencies('dynalake-dev-landing', { s3 }), streamBatch('orders-batch'));

      expect(result).toEqual({ response: { batchItemFailures: [{ itemIdentifier: FIRST_SEQUENCE }] }, objectKey: ORDERS_KEY, recordsWritten: 0, workflow: { skipped: 'write-failed' } });
      expect(glue.calls()).toHaveLength(0);
    } finally {
      s3Mock.restore();
    }
  });

  it('does nothing for an empty batch', async () => {
    const bucket = await createBucket(local(), 'landing');
    const result = await processStreamBatch(dependencies(bucket), { Records: [] });
    expect(result).toEqual({ response: { batchItemFailures: [] }, recordsWritten: 0, workflow: { skipped: 'no-records' } });
    expect(await listKeys(local(), bucket)).toEqual([]);
    expect(glue.calls()).toHaveLength(0);
  });
});

describe('stream-to-lake metrics (the EMF line the real Powertools Metrics prints per batch)', () => {
  const batch = () => streamBatch('orders-batch');
  const oldest = Math.min(...batch().Records.map((record) => Number(record.dynamodb?.ApproximateCreationDateTime)));
  const now = () => (oldest + 90.5) * 1000;
  const metrics = () => new Metrics({ namespace: 'dynalake-dev', serviceName: 'stream-to-lake', defaultDimensions: { dataset: 'orders' } });
  const emfOf = async (landingBucket: string, event = batch()) => {
    const lines = await printedLogs(() => processStreamBatch(dependencies(landingBucket, { metrics: metrics(), now }), event).catch(() => undefined));
    expect(lines).toHaveLength(1);
    return emfMetrics(lines[0] ?? {});
  };

  it('counts the records by event type, the object and its bytes, the age of the oldest change and the workflow start', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0001' });
    const kinds = (name: string) => batch().Records.filter((record) => record.eventName === name).length;
    expect([kinds('INSERT'), kinds('MODIFY'), kinds('REMOVE')]).toEqual([4, 3, 1]);

    const emf = await emfOf(bucket);

    expect(emf.namespace).toBe('dynalake-dev');
    expect(emf.dimensions).toEqual({ service: 'stream-to-lake', dataset: 'orders' });
    const bytes = (await getObjectBytes(local(), bucket, ORDERS_KEY)).length;
    expect(bytes).toBe(encodeChangeObject(decode(await getObjectBytes(local(), bucket, ORDERS_KEY), ORDERS_KEY)).length);
    expect(emf.metrics).toEqual({
      ChangeRecordsIn: { unit: 'Count', value: 8 },
      InsertRecordsIn: { unit: 'Count', value: 4 },
      ModifyRecordsIn: { unit: 'Count', value: 3 },
      RemoveRecordsIn: { unit: 'Count', value: 1 },
      MalformedRecords: { unit: 'Count', value: 0 },
      ChangeObjectsWritten: { unit: 'Count', value: 1 },
      ChangeObjectBytes: { unit: 'Bytes', value: bytes },
      OldestChangeAgeSeconds: { unit: 'Seconds', value: 90.5 },
      WorkflowRunsStarted: { unit: 'Count', value: 1 },
    });
  });

  it('counts an object a retried batch finds written (412 on If-None-Match) as none written, and a running workflow as already running', async () => {
    // s3rver ignores If-None-Match: only a mock answers 412.
    const s3 = new S3Client({ region: 'eu-west-1' });
    const s3Mock = mockClient(s3);
    try {
      s3Mock.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' }));
      glue.on(StartWorkflowRunCommand).rejects(new ConcurrentRunsExceededException({ message: 'Concurrent runs exceeded', $metadata: {} }));
      const lines = await printedLogs(() => processStreamBatch(dependencies('dynalake-dev-landing', { s3, metrics: metrics(), now }), batch()));
      const emf = emfMetrics(lines[0] ?? {});
      expect(lines).toHaveLength(1);
      expect(emf.metrics.ChangeObjectsWritten).toEqual({ unit: 'Count', value: 0 });
      expect(emf.metrics.ChangeRecordsIn).toEqual({ unit: 'Count', value: 8 });
      expect(emf.metrics.WorkflowAlreadyRunning).toEqual({ unit: 'Count', value: 1 });
      expect(emf.metrics).not.toHaveProperty('WorkflowRunsStarted');
    } finally {
      s3Mock.restore();
    }
  });

  it('counts every malformed record, and the valid ones before the first of them', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0002' });
    const event = batch();
    delete event.Records[6]?.dynamodb?.OldImage;
    if (event.Records[7]) event.Records[7].eventName = 'UPDATE' as 'MODIFY';

    const emf = await emfOf(bucket, event);

    expect(emf.metrics.MalformedRecords).toEqual({ unit: 'Count', value: 2 });
    expect(emf.metrics.ChangeRecordsIn).toEqual({ unit: 'Count', value: 6 });
    const removesBefore = event.Records.slice(0, 6).filter((record) => record.eventName === 'REMOVE').length;
    expect(emf.metrics.RemoveRecordsIn).toEqual({ unit: 'Count', value: removesBefore });
    expect(emf.metrics.InsertRecordsIn).toEqual({ unit: 'Count', value: event.Records.slice(0, 6).filter((record) => record.eventName === 'INSERT').length });
  });

  it('still prints the batch line when the write fails or Glue throws', async () => {
    const failedWrite = await emfOf(`dynalake-missing-${randomUUID()}`);
    expect(failedWrite.metrics.ChangeRecordsIn).toEqual({ unit: 'Count', value: 8 });
    expect(failedWrite.metrics).not.toHaveProperty('ChangeObjectsWritten');

    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    const throttled = await emfOf(bucket);
    expect(throttled.metrics.ChangeObjectsWritten).toEqual({ unit: 'Count', value: 1 });
    expect(throttled.metrics).not.toHaveProperty('WorkflowRunsStarted');
    expect(throttled.metrics).not.toHaveProperty('WorkflowAlreadyRunning');
  });

  it('counts an oldest change from the future (clock skew) as 0 seconds old', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0003' });
    const lines = await printedLogs(() => processStreamBatch(dependencies(bucket, { metrics: metrics(), now: () => (oldest - 5) * 1000 }), batch()));
    expect(emfMetrics(lines[0] ?? {}).metrics.OldestChangeAgeSeconds).toEqual({ unit: 'Seconds', value: 0 });
  });
});

describe('stream-to-lake on the user_Campaign batch', () => {
  it('keeps nested lists of maps, and an empty list, as they were', async () => {
    const bucket = await createBucket(local(), 'landing');
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr_0006' });

    const result = await processStreamBatch(dependencies(bucket, { dataset: 'user_Campaign' }), streamBatch('campaign-batch'));

    const key = `cdc/user_Campaign/dt=2026-11-02/${LABEL}-3000000000000000000201-3000000000000000000204.jsonl.gz`;
    expect(result.objectKey).toBe(key);
    expect(await listKeys(local(), bucket)).toEqual([key]);
    const records = await objectRecords(bucket, key);
    expect(records).toStrictEqual(expectedChanges('campaign-batch'));
    expect(records[1]?.newImage?.progressDetails).toEqual([
      { taskID: 'TASK-0001-01', userCampaignTaskProgressState: 'VALIDATED', validatedAt: '2026-11-02T10:14:52Z', rewardEarned: 12.5 },
      { taskID: 'TASK-0001-02', userCampaignTaskProgressState: 'REJECTED', validationFailureReason: 'PROOF_UNREADABLE', rewardEarned: 0 },
    ]);
    expect(records[2]?.newImage?.progressDetails).toEqual([]);
  });
});

describe('streamToLakeDependenciesFromEnvironment', () => {
  it('rejects missing variables with one message naming them all', () => {
    expect(() => streamToLakeDependenciesFromEnvironment({})).toThrow(new Error('missing environment variables: LANDING_BUCKET, WORKFLOW_NAME, DATASET'));
    expect(() => streamToLakeDependenciesFromEnvironment({ LANDING_BUCKET: 'landing', WORKFLOW_NAME: '', DATASET: 'orders' })).toThrow(new Error('missing environment variable: WORKFLOW_NAME'));
  });

  it.each(['cdc/orders', 'orders ', '1sensors', '_orders', 'sensors-v2', 'orders\n'])('rejects a DATASET that is no dataset name: %j', (dataset) => {
    expect(() => streamToLakeDependenciesFromEnvironment({ LANDING_BUCKET: 'landing', WORKFLOW_NAME: WORKFLOW, DATASET: dataset })).toThrow(
      new Error(`environment variable DATASET is ${JSON.stringify(dataset)}, not a dataset name (letters, digits and underscores, starting with a letter)`),
    );
  });

  it('publishes to the namespace METRICS_NAMESPACE names, an empty one meaning the default', async () => {
    for (const [given, namespace] of [['dynalake-prod', 'dynalake-prod'], ['', 'dynalake']]) {
      const built = streamToLakeDependenciesFromEnvironment({ LANDING_BUCKET: 'landing', WORKFLOW_NAME: WORKFLOW, DATASET: 'orders', METRICS_NAMESPACE: given });
      const [emf] = await printedLogs(() => built.metrics.addMetric('Probe', 'Count', 1).publishStoredMetrics());
      expect(emfMetrics(emf ?? {}).namespace).toBe(namespace);
      built.s3.destroy();
      built.glue.destroy();
    }
  });

  it.each(['campaignInfo', 'sensors', 'S', 'device_readings_2'])('builds the dependencies from a complete environment, for any dataset name: %s', async (dataset) => {
    const built = streamToLakeDependenciesFromEnvironment({ LANDING_BUCKET: 'landing', WORKFLOW_NAME: WORKFLOW, DATASET: dataset });
    try {
      expect(built).toMatchObject({ landingBucket: 'landing', workflowName: WORKFLOW, dataset });
      // Its logs name the function's service.
      expect(await printedLogs(() => built.logger.info('probe'))).toEqual([expect.objectContaining({ level: 'INFO', message: 'probe', service: 'dynalake-stream-to-lake' })]);
      // Its metrics go to dynalake's namespace, as the stage stream-to-lake of the dataset.
      const [emf] = await printedLogs(() => built.metrics.addMetric('Probe', 'Count', 1).publishStoredMetrics());
      expect(emfMetrics(emf ?? {})).toEqual({ namespace: 'dynalake', dimensions: { service: 'stream-to-lake', dataset }, metrics: { Probe: { unit: 'Count', value: 1 } } });
    } finally {
      built.s3.destroy();
      built.glue.destroy();
    }
  });
});

describe('handler (the Lambda entry)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads the environment on the first event that finds it complete, and keeps those dependencies for the container\'s life', async () => {
    delete process.env.LANDING_BUCKET;
    delete process.env.WORKFLOW_NAME;
    delete process.env.DATASET;
    expect(() => handler({ Records: [] }, lambdaContext('stream-to-lake'))).toThrow(new Error('missing environment variables: LANDING_BUCKET, WORKFLOW_NAME, DATASET'));

    Object.assign(process.env, { LANDING_BUCKET: 'landing', WORKFLOW_NAME: WORKFLOW, DATASET: 'orders' });
    expect(await handler({ Records: [] }, lambdaContext('stream-to-lake'))).toEqual({ batchItemFailures: [] });
    // Built once: a later event does not read the environment again.
    delete process.env.LANDING_BUCKET;
    expect(await handler({ Records: [] }, lambdaContext('stream-to-lake'))).toEqual({ batchItemFailures: [] });
  });
});
