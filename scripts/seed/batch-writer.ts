import { type AttributeValue, BatchWriteItemCommand, type BatchWriteItemCommandOutput, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { DynalakeError } from '../../lambda/shared/errors';

/** The one client call the writer makes; a DynamoDBClient fits, and so does a test double. */
export interface BatchWriteClient {
  send(command: BatchWriteItemCommand): Promise<BatchWriteItemCommandOutput>;
}

/** DynamoDB's limit of write requests per BatchWriteItem. */
export const MAX_BATCH_ITEMS = 25;

/** Errors DynamoDB asks the caller to retry after a pause. */
const RETRYABLE_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
]);

/** Options of a {@link BatchWriter}. */
export interface BatchWriterOptions {
  readonly client: BatchWriteClient;
  readonly tableName: string;
  /** BatchWriteItem requests in flight at once. */
  readonly concurrency: number;
  /**
   * Longest total pause spent retrying one batch (UnprocessedItems and throttling) before the
   * load fails. @default 120_000 ms
   */
  readonly maxRetryWaitMs?: number;
  /** Most BatchWriteItem calls for one batch, whatever the pauses were. @default 50 */
  readonly maxAttempts?: number;
  /** First backoff ceiling; doubles per attempt. @default 50 ms */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling. @default 5_000 ms */
  readonly maxDelayMs?: number;
  /** Uniform [0, 1) source for full jitter. @default Math.random */
  readonly random?: () => number;
  /** Pause implementation (tests pass a fake clock). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What {@link BatchWriter} reports about each batch once DynamoDB has taken all of it. */
export interface WrittenBatch<T> {
  readonly tags: readonly T[];
  /** BatchWriteItem calls it took (1 when nothing had to be retried). */
  readonly attempts: number;
}

interface PendingItem<T> {
  readonly key: string;
  readonly request: WriteRequest;
  readonly tag: T;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Writes items with BatchWriteItem, 25 to a request and `concurrency` requests in flight.
 * UnprocessedItems and throttling are retried with exponential backoff and full jitter within a
 * bounded total pause per batch. A batch never holds two items with the same key (DynamoDB
 * refuses such a batch whole). `put` applies backpressure: it waits while the pipe is full.
 */
export class BatchWriter<T> {
  private batch: PendingItem<T>[] = [];
  private readonly keysInBatch = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  /** Items DynamoDB has acknowledged. */
  written = 0;
  /** BatchWriteItem calls made. */
  requests = 0;
  /** Calls that had to be repeated for UnprocessedItems or throttling. */
  retries = 0;

  constructor(
    private readonly options: BatchWriterOptions,
    private readonly onWritten: (batch: WrittenBatch<T>) => void = () => undefined,
  ) {}

  /** Queues one item; sends a batch when it is full. Rejects once a batch has failed for good. */
  async put(key: string, item: Record<string, AttributeValue>, tag: T): Promise<void> {
    this.throwIfFailed();
    if (this.keysInBatch.has(key)) await this.dispatch();
    this.batch.push({ key, request: { PutRequest: { Item: item } }, tag });
    this.keysInBatch.add(key);
    if (this.batch.length === MAX_BATCH_ITEMS) await this.dispatch();
  }

  /** Sends what is queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    if (this.batch.length > 0) await this.dispatch();
    await this.drain();
    this.throwIfFailed();
  }

  /** Waits for the batches in flight without sending the queued ones (for a clean stop). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Tags of the items queued but not sent. */
  get queuedTags(): readonly T[] {
    return this.batch.map((item) => item.tag);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async dispatch(): Promise<void> {
    const items = this.batch;
    this.batch = [];
    this.keysInBatch.clear();
    while (this.inFlight.size >= this.options.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const sending: Promise<void> = this.send(items)
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private async send(items: readonly PendingItem<T>[]): Promise<void> {
    const { tableName, maxRetryWaitMs = 120_000, maxAttempts = 50, baseDelayMs = 50, maxDelayMs = 5_000, random = Math.random, sleep = defaultSleep } = this.options;
    let requests: WriteRequest[] = items.map((item) => item.request);
    let attempt = 0;
    let waited = 0;
    for (;;) {
      attempt += 1;
      this.requests += 1;
      let unprocessed: WriteRequest[];
      try {
        const output = await this.options.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        unprocessed = output.UnprocessedItems?.[tableName] ?? [];
      } catch (error) {
        if (!RETRYABLE_ERRORS.has((error as { name?: string }).name ?? '')) {
          throw new DynalakeError('LOAD_FAILED', `DynamoDB refused a batch for table ${tableName}: ${(error as Error).message}`);
        }
        unprocessed = requests; // nothing of a throttled call was written
      }
      this.written += requests.length - unprocessed.length;
      if (unprocessed.length === 0) break;
      // Full jitter: a uniform pause below an exponentially growing ceiling spreads the retries.
      const delay = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
      // Bounded by both: pauses can be near zero under full jitter, so attempts are capped too.
      if (waited + delay > maxRetryWaitMs || attempt >= maxAttempts) {
        throw new DynalakeError(
          'LOAD_FAILED',
          `DynamoDB kept ${unprocessed.length} of a batch's items unprocessed or throttled for ${Math.round(waited / 1000)} s (${attempt} attempts) on table ${tableName}`,
        );
      }
      waited += delay;
      this.retries += 1;
      await sleep(delay);
      requests = unprocessed;
    }
    this.onWritten({ tags: items.map((item) => item.tag), attempts: attempt });
  }
}
