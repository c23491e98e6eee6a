import { type AttributeValue, type BatchWriteItemCommand, type BatchWriteItemCommandOutput, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { DynalakeError } from '../../../lambda/shared/errors';
import { type BatchWriteClient, BatchWriter, type BatchWriterOptions, MAX_BATCH_ITEMS, type WrittenBatch } from '../../../scripts/seed/batch-writer';

const TABLE = 'dynalake-orders-test';

/** Item `n` of a test load: its own key, and `n` as its tag. */
const itemOf = (n: number): Record<string, AttributeValue> => ({ InvoiceNo: { S: `INV${n}` }, LineNo: { N: '1' } });
const keyOf = (n: number) => `INV${n}#1`;

/** The item numbers a request list carries, in order. */
const idsOf = (requests: readonly WriteRequest[]): number[] =>
  requests.map((request) => Number((request.PutRequest?.Item?.InvoiceNo?.S ?? 'INV-1').slice(3)));

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, offset) => from + offset);

/** The requests of one BatchWriteItem call, checking it addresses the test table only. */
function requestsOf(command: BatchWriteItemCommand): WriteRequest[] {
  const requestItems = command.input.RequestItems ?? {};
  expect(Object.keys(requestItems)).toStrictEqual([TABLE]);
  return requestItems[TABLE] ?? [];
}

const output = (unprocessed?: readonly WriteRequest[]): BatchWriteItemCommandOutput => ({
  $metadata: {},
  ...(unprocessed === undefined ? {} : { UnprocessedItems: { [TABLE]: [...unprocessed] } }),
});

const namedError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** A client that answers each call at once with `respond` (which may throw), recording the requests. */
function scriptedClient(respond: (requests: readonly WriteRequest[], call: number) => BatchWriteItemCommandOutput = () => output()) {
  const calls: WriteRequest[][] = [];
  const client: BatchWriteClient = {
    send: (command) =>
      new Promise<BatchWriteItemCommandOutput>((resolve) => {
        const requests = requestsOf(command);
        calls.push(requests);
        resolve(respond(requests, calls.length));
      }),
  };
  return { client, calls };
}

interface PendingCall {
  readonly requests: WriteRequest[];
  readonly resolve: (value: BatchWriteItemCommandOutput) => void;
  readonly reject: (error: Error) => void;
}

/** A client whose calls stay in flight until the test settles them. */
function manualClient() {
  const calls: PendingCall[] = [];
  const client: BatchWriteClient = {
    send: (command) =>
      new Promise<BatchWriteItemCommandOutput>((resolve, reject) => {
        calls.push({ requests: requestsOf(command), resolve, reject });
      }),
  };
  return { client, calls };
}

/** Lets every pending promise callback run (no timer, no real time). */
const settle = () =>
  new Promise<void>((resolve) => {
    setImmediate(resolve);
  });

/** Whether a promise has settled yet, readable while it is pending. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  void promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

interface Harness {
  readonly writer: BatchWriter<number>;
  /** Every pause the writer asked for, in ms. */
  readonly delays: number[];
  readonly written: WrittenBatch<number>[];
}

function harness(client: BatchWriteClient, options: Partial<BatchWriterOptions> = {}): Harness {
  const delays: number[] = [];
  const written: WrittenBatch<number>[] = [];
  const writer = new BatchWriter<number>(
    {
      client,
      tableName: TABLE,
      concurrency: 1,
      random: () => 0.5,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
      ...options,
    },
    (batch) => written.push(batch),
  );
  return { writer, delays, written };
}

async function putAll(writer: BatchWriter<number>, ids: readonly number[]): Promise<void> {
  for (const id of ids) await writer.put(keyOf(id), itemOf(id), id);
}

/** The error a promise rejects with. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('BatchWriter batching', () => {
  it('sends 25 items per BatchWriteItem and the final partial batch on flush', async () => {
    const { client, calls } = scriptedClient();
    const { writer, written } = harness(client, { concurrency: 4 });

    await putAll(writer, range(0, 60));
    expect(calls.map(idsOf)).toStrictEqual([range(0, 25), range(25, 25)]);
    expect(writer.queuedTags).toStrictEqual(range(50, 10));

    await writer.flush();
    expect(MAX_BATCH_ITEMS).toBe(25);
    expect(calls.map(idsOf)).toStrictEqual([range(0, 25), range(25, 25), range(50, 10)]);
    expect(calls[0]?.[0]).toStrictEqual({ PutRequest: { Item: itemOf(0) } });
    expect(writer.written).toBe(60);
    expect(writer.requests).toBe(3);
    expect(writer.retries).toBe(0);
    expect(written).toStrictEqual([
      { tags: range(0, 25), attempts: 1 },
      { tags: range(25, 25), attempts: 1 },
      { tags: range(50, 10), attempts: 1 },
    ]);
    expect(writer.queuedTags).toStrictEqual([]);
  });

  it('sends nothing on flush when nothing is queued', async () => {
    const { client, calls } = scriptedClient();
    const { writer } = harness(client);
    await writer.flush();
    expect(calls).toStrictEqual([]);
    expect(writer.requests).toBe(0);
  });

  it('starts a new batch when a key repeats before the batch is full, never sending one key twice in a request', async () => {
    const { client, calls } = scriptedClient();
    const { writer, written } = harness(client, { concurrency: 2 });

    await writer.put('a', itemOf(1), 1);
    await writer.put('b', itemOf(2), 2);
    expect(calls).toHaveLength(0);
    await writer.put('a', itemOf(3), 3);
    expect(calls.map(idsOf)).toStrictEqual([[1, 2]]);
    expect(writer.queuedTags).toStrictEqual([3]);
    await writer.put('c', itemOf(4), 4);
    await writer.put('c', itemOf(5), 5);
    await writer.flush();

    expect(calls.map(idsOf)).toStrictEqual([[1, 2], [3, 4], [5]]);
    expect(writer.written).toBe(5);
    expect(written.map((batch) => batch.tags)).toStrictEqual([[1, 2], [3, 4], [5]]);
  });

  it('keeps key tracking per batch, so a key may return once its batch has been sent', async () => {
    const { client, calls } = scriptedClient();
    const { writer } = harness(client);
    await putAll(writer, range(0, 25));
    await writer.put(keyOf(0), itemOf(0), 100);
    await putAll(writer, range(1, 3));
    await writer.flush();
    expect(calls.map((requests) => requests.length)).toStrictEqual([25, 4]);
  });
});

describe('BatchWriter concurrency', () => {
  it('with concurrency 2, does not send the third request until one of the first two finishes', async () => {
    const { client, calls } = manualClient();
    const { writer } = harness(client, { concurrency: 2 });

    await putAll(writer, range(0, 50));
    expect(calls).toHaveLength(2);

    await putAll(writer, range(50, 24));
    const lastPut = writer.put(keyOf(74), itemOf(74), 74);
    const lastPutState = watch(lastPut);
    await settle();
    expect(calls).toHaveLength(2);
    expect(lastPutState.settled).toBe(false);

    calls[1]?.resolve(output());
    await lastPut;
    expect(calls).toHaveLength(3);
    expect(calls.map((call) => idsOf(call.requests))).toStrictEqual([range(0, 25), range(25, 25), range(50, 25)]);

    const flushed = writer.flush();
    calls[0]?.resolve(output());
    calls[2]?.resolve(output());
    await flushed;
    expect(writer.written).toBe(75);
  });

  it('never has more requests in flight than the concurrency', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const client: BatchWriteClient = {
      send: async (command) => {
        requestsOf(command);
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await settle();
        inFlight -= 1;
        return output();
      },
    };
    const { writer } = harness(client, { concurrency: 3 });
    await putAll(writer, range(0, 250));
    await writer.flush();
    expect(mostInFlight).toBe(3);
    expect(writer.requests).toBe(10);
    expect(writer.written).toBe(250);
  });
});

describe('BatchWriter retries', () => {
  it('re-sends only the UnprocessedItems until none remain, counting each item once', async () => {
    const { client, calls } = scriptedClient((requests, call) => {
      if (call === 1) return output(requests.filter((request) => [3, 7, 20].includes(idsOf([request])[0] ?? -1)));
      if (call === 2) return output(requests.filter((request) => idsOf([request])[0] === 7));
      return output();
    });
    const { writer, written } = harness(client);

    await putAll(writer, range(0, 30));
    await writer.flush();

    expect(calls.map(idsOf)).toStrictEqual([range(0, 25), [3, 7, 20], [7], range(25, 5)]);
    expect(writer.written).toBe(30);
    expect(writer.requests).toBe(4);
    expect(writer.retries).toBe(2);
    expect(written).toStrictEqual([
      { tags: range(0, 25), attempts: 3 },
      { tags: range(25, 5), attempts: 1 },
    ]);
  });

  it('treats an empty UnprocessedItems list for the table as nothing left', async () => {
    const { client, calls } = scriptedClient(() => output([]));
    const { writer, written } = harness(client);
    await putAll(writer, range(0, 3));
    await writer.flush();
    expect(calls).toHaveLength(1);
    expect(written).toStrictEqual([{ tags: [0, 1, 2], attempts: 1 }]);
  });

  it('pauses just below min(maxDelayMs, baseDelayMs * 2^(attempt-1)) when random() is close to 1', async () => {
    const { client } = scriptedClient((requests, call) => (call <= 6 ? output(requests) : output()));
    const { writer, delays, written } = harness(client, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.9999 });
    await putAll(writer, range(0, 5));
    await writer.flush();
    expect(delays).toStrictEqual([99, 199, 399, 799, 999, 999]);
    expect(written).toStrictEqual([{ tags: range(0, 5), attempts: 7 }]);
    expect(writer.retries).toBe(6);
    expect(writer.written).toBe(5);
  });

  it('starts from a 50 ms ceiling by default', async () => {
    const { client } = scriptedClient((requests, call) => (call <= 3 ? output(requests) : output()));
    const { writer, delays } = harness(client, { random: () => 0.9999 });
    await putAll(writer, range(0, 5));
    await writer.flush();
    expect(delays).toStrictEqual([49, 99, 199]);
  });

  it('pauses 0 ms when random() is 0', async () => {
    const { client } = scriptedClient((requests, call) => (call <= 3 ? output(requests) : output()));
    const { writer, delays } = harness(client, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
    await putAll(writer, range(0, 5));
    await writer.flush();
    expect(delays).toStrictEqual([0, 0, 0]);
    expect(writer.retries).toBe(3);
  });

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'InternalServerError', 'ServiceUnavailable', 'LimitExceededException'])(
    'retries the whole batch after a %s, with the same backoff',
    async (name) => {
    const { client, calls } = scriptedClient((_requests, call) => {
      if (call <= 2) throw namedError(name, 'Rate of requests exceeds the allowed throughput.');
      return output();
    });
    const { writer, delays, written } = harness(client, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.9999 });

    await putAll(writer, range(0, 25));
    await writer.flush();

    expect(calls.map(idsOf)).toStrictEqual([range(0, 25), range(0, 25), range(0, 25)]);
    expect(delays).toStrictEqual([99, 199]);
    expect(writer.written).toBe(25);
    expect(writer.retries).toBe(2);
    expect(written).toStrictEqual([{ tags: range(0, 25), attempts: 3 }]);
    },
  );

  it('really pauses by default: the retry waits for its timer', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const { client, calls } = scriptedClient((requests, call) => (call === 1 ? output(requests) : output()));
      const writer = new BatchWriter<number>({ client, tableName: TABLE, concurrency: 1, baseDelayMs: 100, random: () => 0.5 });
      await putAll(writer, range(0, 3));
      const flushed = writer.flush();
      await jest.advanceTimersByTimeAsync(49);
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      await flushed;
      expect(calls).toHaveLength(2);
      expect(writer.written).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('BatchWriter failures', () => {
  it('fails with LOAD_FAILED naming the table and the unprocessed count when the total pause would exceed maxRetryWaitMs', async () => {
    // Items 0..9 are sent; 3 of them stay unprocessed on every attempt. Pauses 99 + 199 + 399 = 697 ms,
    // and the next 799 ms would pass the 1,000 ms budget.
    const { client, calls } = scriptedClient((requests) => output(requests.slice(0, 3)));
    const { writer, delays, written } = harness(client, { baseDelayMs: 100, maxDelayMs: 1000, maxRetryWaitMs: 1000, random: () => 0.9999 });

    await putAll(writer, range(0, 10));
    const error = await rejectionOf(writer.flush());

    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'LOAD_FAILED' });
    // 697 ms of pauses, rounded to the second.
    expect((error as DynalakeError).message).toBe(`DynamoDB kept 3 of a batch's items unprocessed or throttled for 1 s (4 attempts) on table ${TABLE}`);
    expect(delays).toStrictEqual([99, 199, 399]);
    expect(calls.map(idsOf)).toStrictEqual([range(0, 10), [0, 1, 2], [0, 1, 2], [0, 1, 2]]);
    expect(writer.written).toBe(7);
    expect(writer.retries).toBe(3);
    expect(written).toStrictEqual([]);
  });

  it('gives up after maxAttempts calls even when full jitter makes every pause zero', async () => {
    const { client, calls } = scriptedClient((requests) => output(requests.slice(0, 1)));
    const { writer, delays } = harness(client, { maxAttempts: 5, random: () => 0 });

    await putAll(writer, range(0, 3));
    const error = await rejectionOf(writer.flush());

    expect(error).toMatchObject({ code: 'LOAD_FAILED', message: expect.stringContaining('5 attempts') as unknown });
    expect(calls).toHaveLength(5);
    expect(delays).toStrictEqual([0, 0, 0, 0]);
  });

  it('allows a total pause exactly equal to maxRetryWaitMs', async () => {
    const { client } = scriptedClient((requests, call) => (call <= 3 ? output(requests) : output()));
    const { writer, delays } = harness(client, { baseDelayMs: 100, maxDelayMs: 1000, maxRetryWaitMs: 697, random: () => 0.9999 });
    await putAll(writer, range(0, 5));
    await writer.flush();
    expect(delays).toStrictEqual([99, 199, 399]);
    expect(writer.written).toBe(5);
  });

  it('counts throttling pauses against maxRetryWaitMs too', async () => {
    const { client, calls } = scriptedClient(() => {
      throw namedError('ThrottlingException', 'Rate exceeded');
    });
    const { writer, delays } = harness(client, { baseDelayMs: 100, maxDelayMs: 1000, maxRetryWaitMs: 300, random: () => 0.9999 });
    await putAll(writer, range(0, 4));
    const error = await rejectionOf(writer.flush());
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'LOAD_FAILED' });
    expect((error as DynalakeError).message).toContain(TABLE);
    expect((error as DynalakeError).message).toMatch(/\b4\b[^.]*unprocessed/);
    expect(delays).toStrictEqual([99, 199]);
    expect(calls).toHaveLength(3);
    expect(writer.written).toBe(0);
  });

  it('rejects later put and flush calls with the same error once a batch has failed', async () => {
    const { client, calls } = scriptedClient((requests) => output(requests));
    const { writer } = harness(client, { maxRetryWaitMs: 0, random: () => 0.9999 });

    await putAll(writer, range(0, 25));
    const error = await rejectionOf(writer.flush());
    expect(error).toBeInstanceOf(DynalakeError);

    await expect(writer.put(keyOf(25), itemOf(25), 25)).rejects.toBe(error);
    await expect(writer.flush()).rejects.toBe(error);
    expect(calls).toHaveLength(1);
  });

  it('fails at once, without retrying, on a ValidationException, naming the table and the original message', async () => {
    const { client, calls } = scriptedClient(() => {
      throw namedError('ValidationException', 'One or more parameter values were invalid: Type mismatch for key');
    });
    const { writer, delays, written } = harness(client);

    await putAll(writer, range(0, 25));
    const error = await rejectionOf(writer.flush());

    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'LOAD_FAILED' });
    expect((error as DynalakeError).message).toContain(TABLE);
    expect((error as DynalakeError).message).toContain('One or more parameter values were invalid: Type mismatch for key');
    expect(calls).toHaveLength(1);
    expect(delays).toStrictEqual([]);
    expect(writer.retries).toBe(0);
    expect(writer.written).toBe(0);
    expect(written).toStrictEqual([]);
    await expect(writer.put(keyOf(25), itemOf(25), 25)).rejects.toBe(error);
  });

  it('rejects a put waiting for a free slot when the batch in flight fails', async () => {
    const { client, calls } = manualClient();
    const { writer } = harness(client);

    await putAll(writer, range(0, 49));
    const waiting = writer.put(keyOf(49), itemOf(49), 49);
    await settle();
    expect(calls).toHaveLength(1);

    calls[0]?.reject(namedError('ValidationException', 'Item size has exceeded the maximum allowed size'));
    const error = await rejectionOf(waiting);
    expect(error).toBeInstanceOf(DynalakeError);
    expect(error).toMatchObject({ code: 'LOAD_FAILED' });
    expect(calls).toHaveLength(1);
  });
});

describe('BatchWriter drain', () => {
  it('waits for the batches in flight without sending the queued items, which queuedTags lists', async () => {
    const { client, calls } = manualClient();
    const { writer, written } = harness(client);

    await putAll(writer, range(0, 28));
    expect(calls.map((call) => idsOf(call.requests))).toStrictEqual([range(0, 25)]);
    expect(writer.queuedTags).toStrictEqual([25, 26, 27]);

    const drained = writer.drain();
    const drainState = watch(drained);
    await settle();
    expect(drainState.settled).toBe(false);

    calls[0]?.resolve(output());
    await drained;
    expect(calls).toHaveLength(1);
    expect(writer.written).toBe(25);
    expect(written).toStrictEqual([{ tags: range(0, 25), attempts: 1 }]);
    expect(writer.queuedTags).toStrictEqual([25, 26, 27]);
  });

  it('returns at once when nothing is in flight', async () => {
    const { client, calls } = manualClient();
    const { writer } = harness(client);
    await putAll(writer, range(0, 2));
    await writer.drain();
    expect(calls).toHaveLength(0);
    expect(writer.queuedTags).toStrictEqual([0, 1]);
  });

  it('settles after a failed batch without throwing, leaving the failure for flush', async () => {
    const { client, calls } = manualClient();
    const { writer } = harness(client);
    await putAll(writer, range(0, 25));
    calls[0]?.reject(namedError('ValidationException', 'bad item'));
    await writer.drain();
    await expect(writer.flush()).rejects.toBeInstanceOf(DynalakeError);
  });
});
