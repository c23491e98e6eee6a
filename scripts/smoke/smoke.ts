/**
 * The end-to-end check after a deployment (`npm run smoke`): a few order items under a test
 * invoice of their own go into the orders table, and the check follows them through the pipeline
 * (their change object, a refresh run, the curated table) and out again (deleted, gone from the
 * lake). The same code runs against a deployed stage and against the local pipeline's services.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetWorkflowCommand, type GlueClient, StartWorkflowRunCommand } from '@aws-sdk/client-glue';
import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SMOKE_KEY_PREFIX } from '../../lib/constructs/github-smoke-role';
import { type ChangeEventName, decodeChangeObject } from '../../lambda/shared/cdc';
import { DynalakeError } from '../../lambda/shared/errors';
import { cdcPrefix } from '../../lambda/shared/layout';
import { type OrderItem, toAttributeValues } from '../../lambda/shared/orders-csv';
import { getObjectBytes, listObjects } from '../local/glue/s3-files';

/** The orders dataset's name in the landing bucket (`cdc/orders/`). */
const ORDERS = 'orders';

/** The test invoices' prefix: the smoke role may write no other partition key (`dynamodb:LeadingKeys`, GitHubSmokeRole). */
export const SMOKE_INVOICE_PREFIX = DEFAULT_SMOKE_KEY_PREFIX;

/** What the check runs against: the orders table, the landing bucket, the refresh workflow and the lake. */
export interface SmokeEnvironment {
  /** Where it runs, for the report (`stage dev in eu-west-1`, `the local pipeline in .dynalake-smoke`). */
  readonly description: string;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly glue: GlueClient;
  readonly ordersTable: string;
  readonly landingBucket: string;
  readonly workflowName: string;
  /** The Glue database of the lake's tables. */
  readonly database: string;
  /** Runs an Athena query (DuckDB over the lake locally) and returns the first column of its first row. */
  queryScalar(sql: string): Promise<string | undefined>;
}

/** The Athena query that counts the test invoice's rows in the curated orders table, in its partition only. */
export function lakeRowsQuery(database: string, invoice: string, day: string): string {
  const text = (value: string) => `'${value.replace(/'/g, "''")}'`;
  return `SELECT count(*) FROM "${database}"."curated_orders" WHERE invoice_day = ${text(day)} AND invoice_no = ${text(invoice)}`;
}

/** Options of {@link runSmoke}. */
export interface SmokeOptions {
  /** How long each step may take before the check fails naming it. */
  readonly stepTimeoutMs: number;
  /** How long to wait between two looks. @default 2000 */
  readonly pollMs?: number;
  /** Order items written under the test invoice. @default 3 */
  readonly items?: number;
  /** The test invoice. @default - `SMOKE-` and 12 random hex digits */
  readonly invoice?: string;
  /** Where the report goes, line by line. @default console.log */
  readonly print?: (line: string) => void;
}

/** What a passing check measured. */
export interface SmokeReport {
  readonly invoice: string;
  /** Each step and its milliseconds, in order. */
  readonly steps: readonly (readonly [string, number])[];
  /** From the first item written to all of them queryable in the lake. */
  readonly freshnessMs: number;
  /** From the items deleted to all of them gone from the lake. */
  readonly removalMs: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Raised when a step did not finish in time or failed, naming the step. */
class StepFailed extends DynalakeError {
  constructor(
    readonly step: string,
    reason: string,
  ) {
    super('LOAD_FAILED', `smoke step "${step}" ${reason}`);
  }
}

/** The test order items: one invoice, lines 1…n, dated now (so in today's partition). */
export function smokeItems(invoice: string, count: number, now: Date): OrderItem[] {
  const invoiceDate = now.toISOString().slice(0, 19);
  return Array.from({ length: count }, (_, index) => ({
    InvoiceNo: invoice,
    LineNo: index + 1,
    StockCode: 'SMOKE',
    Description: 'dynalake smoke test item',
    Quantity: index + 1,
    UnitPrice: '1.250',
    InvoiceDate: invoiceDate,
    Country: 'Smoke Test',
    IsCancellation: false,
    InvoiceDay: invoiceDate.slice(0, 10),
    SourceFile: 'npm run smoke',
    LoadedAt: now.toISOString(),
  }));
}

/**
 * Runs the check. Resolves with each step's time; rejects with a LOAD_FAILED DynalakeError naming
 * the step that failed or timed out. The items are deleted whatever happens.
 */
export async function runSmoke(environment: SmokeEnvironment, options: SmokeOptions): Promise<SmokeReport> {
  const print = options.print ?? ((line: string) => { console.log(line); });
  const pollMs = options.pollMs ?? 2000;
  const invoice = options.invoice ?? `${SMOKE_INVOICE_PREFIX}${randomBytes(6).toString('hex').toUpperCase()}`;
  if (!invoice.startsWith(SMOKE_INVOICE_PREFIX)) throw new DynalakeError('BAD_INVOCATION', `the test invoice must start with ${SMOKE_INVOICE_PREFIX}, not ${JSON.stringify(invoice)}`);
  const items = smokeItems(invoice, options.items ?? 3, new Date());
  const day = items[0]?.InvoiceDay ?? '';
  const steps: [string, number][] = [];
  const examined = new Set<string>();
  /** Items written so far, and whether they were deleted: what the cleanup must undo. */
  const progress = { written: 0, deleted: false };

  /** Runs `look` until it returns a value, within the step's timeout; `progress` says what was last seen. */
  const step = async <T>(name: string, look: () => Promise<T | undefined>, progress: () => string): Promise<T> => {
    print(`▶ ${name}`);
    const started = performance.now();
    for (;;) {
      let found: T | undefined;
      try {
        found = await look();
      } catch (error) {
        if (error instanceof StepFailed) throw error;
        throw new StepFailed(name, `failed: ${(error as Error).message}`);
      }
      const elapsed = performance.now() - started;
      if (found !== undefined) {
        steps.push([name, elapsed]);
        print(`  ✓ ${name} (${seconds(elapsed)})`);
        return found;
      }
      if (elapsed >= options.stepTimeoutMs) throw new StepFailed(name, `timed out after ${seconds(options.stepTimeoutMs)}: ${progress()}`);
      await sleep(Math.min(pollMs, Math.max(0, options.stepTimeoutMs - elapsed)));
    }
  };

  /** The landing bucket's change objects of `kind` for every test item; resolves to when the last landed (S3's clock). */
  const changeObjects = (kind: ChangeEventName, since: Date) => {
    const seen = new Map<number, Date>();
    const look = async (): Promise<Date | undefined> => {
      // The objects of the days from `since` to now (a run across midnight lands in the next day's folder).
      const days = [...new Set([since, new Date()].map((date) => date.toISOString().slice(0, 10)))];
      for (const objectDay of days) {
        for (const object of await listObjects(environment.s3, environment.landingBucket, `${cdcPrefix(ORDERS)}dt=${objectDay}/`)) {
          // S3 keeps LastModified to the second; a few seconds' margin covers that and clock skew.
          if (examined.has(object.key) || (object.lastModified && object.lastModified.getTime() < since.getTime() - 5000)) continue;
          examined.add(object.key);
          const records = decodeChangeObject(await getObjectBytes(environment.s3, environment.landingBucket, object.key), object.key);
          for (const record of records) {
            if (record.keys.InvoiceNo === invoice && record.eventName === kind) seen.set(Number(record.keys.LineNo), object.lastModified ?? new Date());
          }
        }
      }
      if (seen.size < items.length) return undefined;
      return new Date(Math.max(...[...seen.values()].map((date) => date.getTime())));
    };
    return { look, progress: () => `${String(seen.size)} of ${String(items.length)} ${kind} records of ${invoice} in s3://${environment.landingBucket}/${cdcPrefix(ORDERS)}` };
  };

  /** A refresh run that started once the change objects had landed, completed; one is started when none is going. */
  const refreshRun = (landed: Date) => {
    let last = 'no run yet';
    let started: string | undefined;
    const look = async (): Promise<string | undefined> => {
      const { Workflow } = await environment.glue.send(new GetWorkflowCommand({ Name: environment.workflowName, IncludeGraph: false }));
      const run = Workflow?.LastRun;
      last = run ? `last run ${run.WorkflowRunId ?? '?'} ${run.Status ?? '?'} (started ${run.StartedOn?.toISOString() ?? '?'})` : 'no run yet';
      // StartedOn is Glue's clock and LastModified S3's: both AWS time, both to the second or better.
      const covers = run?.StartedOn !== undefined && run.StartedOn.getTime() >= landed.getTime();
      if (covers && run.Status === 'COMPLETED') {
        const failed = run.Statistics?.FailedActions ?? 0;
        if (failed > 0) throw new StepFailed('refresh run', `failed: run ${run.WorkflowRunId ?? '?'} completed with ${String(failed)} failed job run(s)`);
        return run.WorkflowRunId ?? '?';
      }
      if (covers && (run.Status === 'STOPPED' || run.Status === 'ERROR')) throw new StepFailed('refresh run', `failed: run ${run.WorkflowRunId ?? '?'} ended ${run.Status}`);
      // A run that started before the objects landed may have missed them: its end starts the next
      // one (refresh-follow-up); with none going and none started since, this check starts one.
      if (run?.Status !== 'RUNNING' && !covers && started === undefined) {
        try {
          started = (await environment.glue.send(new StartWorkflowRunCommand({ Name: environment.workflowName }))).RunId;
          print(`  started refresh run ${started ?? '?'}`);
        } catch (error) {
          if ((error as Error).name !== 'ConcurrentRunsExceededException') throw error;
        }
      }
      return undefined;
    };
    return { look, progress: () => last };
  };

  /** The lake's rows of the test invoice, once there are `expected`. */
  const lakeRows = (expected: number) => {
    let rows = -1;
    const look = async () => {
      rows = Number(await environment.queryScalar(lakeRowsQuery(environment.database, invoice, day)));
      return rows === expected ? rows : undefined;
    };
    return { look, progress: () => `curated_orders holds ${rows < 0 ? 'no answer yet' : String(rows)} of invoice ${invoice} (partition ${day}), expected ${String(expected)}` };
  };

  const deleteItems = async () => {
    for (const item of items.slice(0, progress.written)) {
      await environment.dynamodb.send(new DeleteItemCommand({ TableName: environment.ordersTable, Key: { InvoiceNo: { S: item.InvoiceNo }, LineNo: { N: String(item.LineNo) } } }));
    }
    progress.deleted = true;
  };

  print(`smoke test against ${environment.description}: invoice ${invoice}, ${String(items.length)} items in ${environment.ordersTable}`);
  try {
    const writeStarted = new Date();
    const writeClock = performance.now();
    await step(
      'write items',
      async () => {
        for (const item of items.slice(progress.written)) {
          await environment.dynamodb.send(new PutItemCommand({ TableName: environment.ordersTable, Item: toAttributeValues(item) }));
          progress.written++;
        }
        return true;
      },
      () => `${String(progress.written)} of ${String(items.length)} written`,
    );
    const inserts = changeObjects('INSERT', writeStarted);
    const insertsLanded = await step('change objects (INSERT)', inserts.look, inserts.progress);
    const inserted = refreshRun(insertsLanded);
    await step('refresh run', inserted.look, inserted.progress);
    const inLake = lakeRows(items.length);
    await step('lake has the rows', inLake.look, inLake.progress);
    const freshnessMs = performance.now() - writeClock;

    const deleteStarted = new Date();
    const deleteClock = performance.now();
    await step('delete items', async () => { await deleteItems(); return true; }, () => 'deleting');
    const removes = changeObjects('REMOVE', deleteStarted);
    const removesLanded = await step('change objects (REMOVE)', removes.look, removes.progress);
    const removed = refreshRun(removesLanded);
    await step('refresh run (deletes)', removed.look, removed.progress);
    const gone = lakeRows(0);
    await step('lake dropped the rows', gone.look, gone.progress);
    const removalMs = performance.now() - deleteClock;

    print(`✓ smoke test passed in ${seconds(steps.reduce((sum, [, ms]) => sum + ms, 0))}: end-to-end freshness ${seconds(freshnessMs)} (written → queryable), removal ${seconds(removalMs)} (deleted → gone)`);
    return { invoice, steps, freshnessMs, removalMs };
  } finally {
    if (progress.written > 0 && !progress.deleted) {
      // Cleans up even when a step failed: the lake drops the rows at the next refresh.
      try {
        await deleteItems();
        print(`cleanup: deleted the ${String(progress.written)} test items of ${invoice} from ${environment.ordersTable}`);
      } catch (error) {
        print(`cleanup FAILED: delete the items of invoice ${invoice} from ${environment.ordersTable} by hand (${(error as Error).message})`);
      }
    }
  }
}
