/**
 * The whole pipeline on this machine (`npm start`): embedded DynamoDB and S3, the real Lambda
 * handlers, the local Glue twins on DuckDB, and the named queries on the lake.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { type AttributeValue, DeleteItemCommand, type DynamoDBClient, paginateScan, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, DynamoDBRecord, S3Event } from 'aws-lambda';
import { parseConfig, type PipelineConfig } from '../../lib/config';
import { IDEMPOTENCY_KEY_ATTRIBUTE } from '../../lib/constructs/upload-to-glue';
import { LAKE_LAYOUT, lakeJobArguments, REFRESH_MERGES } from '../../lib/stacks/pipeline-stack';
import { followUpRunEnd, type RunEndResult } from '../../lambda/refresh-follow-up';
import { DynalakeError } from '../../lambda/shared/errors';
import { encodeEventKey } from '../../lambda/shared/s3-event';
import { processStreamBatch, type StreamBatchResult } from '../../lambda/stream-to-lake';
import { createUploadToGlueHandler } from '../../lambda/upload-to-glue';
import { writeRetailSample } from '../lib/retail-sample';
import { textTable } from '../lib/text-table';
import { ensureTables, startLocalDynamoDB } from './dynamodb';
import { runCampaignProgress } from './glue/campaign-progress';
import { runCsvToDynamoDB } from './glue/csv-to-dynamodb';
import { count, counted, type GlueTwinContext, type GlueTwinResult, type JobArguments } from './glue/job';
import { LocalSpark, preparePython } from './glue/spark';
import { runDatasetToLake } from './glue/dataset-to-lake';
import { runSalesStarSchema } from './glue/sales-star-schema';
import { type LocalGlueOptions, type LocalJob, type LocalJobRun, LocalGlueRunner, type LocalWorkflowRun, workflowRunEndEvent } from './glue-runner';
import { queryLake } from './lake';
import { localBucketNames, localLayout } from './layout';
import { pipelineNamedQueries } from './named-queries';
import { ensureBuckets, startLocalS3 } from './s3';
import { TableStream } from './stream';
import { storageTableDefinitions } from './table-definitions';
import { loadCampaigns } from '../seed/load-campaigns';
import { loadOrders } from '../seed/load-orders';
import { type CapturedMetrics, localFollowUpMetrics, localStreamMetrics, localUploadMetrics } from './metrics';
import { metricsSummaryLines, type PipelineMetrics, summarizeMetrics } from './metrics-summary';

/** The real 1,071-row sample of the e-commerce file (see data/sample/README.md). */
export const SAMPLE_FILE = join(__dirname, '..', '..', 'data', 'sample', 'online-retail-sample.csv');

/** The datasets of the built-in pipeline that stream into the landing bucket. */
type CdcTable = 'orders' | 'user_Campaign' | 'campaignInfo';

const CHANGE_KEYS = 5;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One stage of the run: its name for the report and for the message when it fails. */
class Stage {
  private readonly started = performance.now();
  constructor(
    readonly name: string,
    private readonly print: (line: string) => void,
  ) {
    print(`\n▶ ${name}`);
  }
  line(text: string): void {
    this.print(`  ${text}`);
  }
  done(): number {
    const elapsed = performance.now() - this.started;
    this.print(`  ✓ ${this.name} (${seconds(elapsed)})`);
    return elapsed;
  }
}

/** Raised with the stage that failed and what the user can do about it. */
class StageError extends DynalakeError {
  constructor(stage: string, cause: unknown, nextStep: string) {
    super('LOAD_FAILED', `stage "${stage}" failed: ${cause instanceof Error ? cause.message : String(cause)}\n  next: ${nextStep}`);
  }
}

/** The pipeline configuration of cdk.json, as the app reads it. */
export function readConfig(): PipelineConfig {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context?: { dynalake?: unknown } };
  return parseConfig(cdkJson.context?.dynalake);
}

/** Which implementation runs the Glue jobs: the DuckDB twins, or the real PySpark scripts on a local Spark. */
export type GlueEngine = 'duckdb' | 'spark';

/** Runs one job: its script's name (`orders_to_lake`), the Glue job's name, its arguments. */
export type JobRunner = (script: string, jobName: string, args: JobArguments, twin: (args: JobArguments) => Promise<unknown>) => Promise<unknown>;

/** Each job on its DuckDB twin. */
export const runTwin: JobRunner = (_script, _jobName, args, twin) => twin(args);

/** Each job as its PySpark script on `spark`. */
export const runOnSpark =
  (spark: LocalSpark): JobRunner =>
  (script, jobName, args) =>
    spark.run(script, jobName, args);

/**
 * The pipeline's Glue jobs and refresh workflow, as the pipeline stack defines them, each run by
 * `runJob` (a twin, or the PySpark script with the same arguments).
 */
export function localGlue(config: PipelineConfig, context: GlueTwinContext, buckets: ReturnType<typeof localBucketNames>, runJob: JobRunner = runTwin, options: LocalGlueOptions = {}) {
  const name = `${config.prefix}-${config.stage}`;
  const jobName = (script: string) => `${name}-${script.replace(/_/g, '-')}`;
  const on = (script: string, twin: (args: JobArguments) => Promise<unknown>) => (args: JobArguments) => runJob(script, jobName(script), args, twin);
  // The arguments the stack gives each job, with the local names. MODE=backfill of orders_to_lake
  // exports the orders table named by the ARN: both engines do, through an emulation of DynamoDB's
  // export over the local DynamoDB (scripts/local/dynamodb-export.ts and its Python twin).
  const args = lakeJobArguments(
    { landingBucket: buckets.landing, lakeBucket: buckets.lake, assetsBucket: buckets.assets, ordersTableArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${name}-orders`, uploadsTableName: `${name}-uploads` },
    config,
  );
  const jobs: Record<string, LocalJob> = {
    [jobName('orders_to_lake')]: {
      maxConcurrentRuns: 1,
      defaultArguments: args.orders_to_lake,
      run: on('orders_to_lake', (jobArgs) => runDatasetToLake(context, jobArgs)),
    },
    [jobName('campaign_progress')]: {
      maxConcurrentRuns: 1,
      defaultArguments: args.campaign_progress,
      run: on('campaign_progress', (jobArgs) => runCampaignProgress(context, jobArgs)),
    },
    [jobName('sales_star_schema')]: {
      maxConcurrentRuns: 1,
      defaultArguments: args.sales_star_schema,
      run: on('sales_star_schema', (jobArgs) => runSalesStarSchema(context, jobArgs)),
    },
    [jobName('csv_to_dynamodb')]: {
      maxConcurrentRuns: config.csvLoadMaxConcurrentRuns,
      defaultArguments: args.csv_to_dynamodb,
      run: on('csv_to_dynamodb', (jobArgs) => runCsvToDynamoDB(context, jobArgs)),
    },
  };
  const workflowName = `${name}-refresh`;
  // As RefreshWorkflow builds it: an ON_DEMAND start trigger, then one conditional trigger per stage.
  const workflows = { [workflowName]: { startTrigger: 'ON_DEMAND' as const, stages: [[jobName('orders_to_lake'), jobName('campaign_progress')], [jobName('sales_star_schema')]] } };
  return { runner: new LocalGlueRunner(jobs, workflows, options), jobs, workflowName, csvJobName: jobName('csv_to_dynamodb') };
}

function describeWorkflowRun(run: LocalWorkflowRun, stage: Stage, startedBy?: string): void {
  stage.line(`workflow run ${run.id}: ${run.state}${run.error ? ` (${run.error})` : ''}${startedBy ? `, ${startedBy}` : ''}`);
  for (const jobRun of run.jobRuns) {
    const summary = (jobRun.result as { summary?: string } | undefined)?.summary ?? jobRun.error ?? '';
    stage.line(`  ${jobRun.jobName.padEnd(30)} ${jobRun.state.padEnd(9)} ${seconds(jobRun.milliseconds ?? 0).padStart(7)}  ${summary}`);
  }
}

/** Options of {@link runLocalPipeline}. */
export interface LocalPipelineOptions {
  /** State folder (dynalite, s3rver, the Spark mirror, stream snapshots). */
  readonly stateDir: string;
  /** Run on the synthetic generator's rows instead of the real sample. @default - the real sample */
  readonly rows?: number;
  /** Run on this e-commerce CSV (the full Kaggle file, say) instead of the real sample. @default - the real sample */
  readonly file?: string;
  /** What runs the Glue jobs. @default 'duckdb' */
  readonly engine?: GlueEngine;
  /** Delete the state folder first. @default false */
  readonly fresh?: boolean;
  /** Run the update/delete step. @default true */
  readonly changes?: boolean;
  /** Where the report goes, line by line. @default console.log */
  readonly print?: (line: string) => void;
}

/** What a run did, for the caller's own checks. */
export interface LocalPipelineReport {
  readonly buckets: ReturnType<typeof localBucketNames>;
  readonly seeded: { readonly file: string; readonly read: number; readonly written: number; readonly rejected: number };
  /** The orders changed by the changes step: updated (Quantity + 10) and deleted. */
  readonly changed?: { readonly updated: readonly OrderKey[]; readonly deleted: readonly OrderKey[] };
  /** Milliseconds per stage. */
  readonly timings: readonly (readonly [string, number])[];
  /** Every Glue job run of the local runner, with its twin's (or Spark run's) result and time. */
  readonly jobRuns: readonly LocalJobRun[];
  /** What ran the Glue jobs. */
  readonly engine: GlueEngine;
  /** Seconds the local Spark took to start, once for the whole run (Spark engine only). */
  readonly sparkStartupSeconds?: number;
  /** What the real bridges and the job runs published, summed as CloudWatch would hold them. */
  readonly metrics: PipelineMetrics;
}

/** An order's key. */
export interface OrderKey {
  readonly invoice: string;
  readonly line: number;
}

/**
 * Runs the pipeline end to end on local parts; see `npm start -- --help`. Throws a LOAD_FAILED
 * DynalakeError naming the stage that failed and what to do next.
 */
export async function runLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipelineReport> {
  const print = options.print ?? ((line: string) => { console.log(line); });
  const rows = options.rows;
  const engine = options.engine ?? 'duckdb';
  if (rows !== undefined && options.file !== undefined) throw new DynalakeError('BAD_INVOCATION', 'give --rows or --file, not both');
  if (options.file !== undefined && !existsSync(options.file)) throw new DynalakeError('BAD_INVOCATION', `${options.file}: no such file`);
  const layout = localLayout(options.stateDir);
  const config = readConfig();
  const buckets = localBucketNames(config);
  const began = performance.now();
  const timings: [string, number][] = [];
  let changed: LocalPipelineReport['changed'];

  /** One stage: announced, timed under the word before its colon, and on failure named with what to do next. */
  const runStage = async <T>(name: string, nextStep: string, work: (stage: Stage) => Promise<T>): Promise<T> => {
    const stage = new Stage(name, print);
    let result: T;
    try {
      result = await work(stage);
    } catch (error) {
      throw new StageError(stage.name, error, nextStep);
    }
    timings.push([name.slice(0, name.indexOf(':')), stage.done()]);
    return result;
  };

  if (options.fresh) rmSync(layout.root, { recursive: true, force: true });
  for (const dir of [layout.root, layout.scratchDir]) mkdirSync(dir, { recursive: true });

  const stage = new Stage(`setup: embedded DynamoDB and S3, tables and buckets from the synthesized stacks, local Glue (${engine === 'spark' ? 'PySpark jobs on a local Spark' : 'DuckDB twins'})`, print);
  const tables = storageTableDefinitions(config);
  const idempotencyTable = `${config.prefix}-${config.stage}-idempotency`;
  let dynamodb: Awaited<ReturnType<typeof startLocalDynamoDB>>;
  let s3: Awaited<ReturnType<typeof startLocalS3>>;
  try {
    dynamodb = await startLocalDynamoDB({ path: layout.dynamodbDir });
    s3 = await startLocalS3({ path: layout.s3Dir });
  } catch (error) {
    throw new StageError(stage.name, error, `delete ${layout.root} (or run npm start -- --fresh) if its data is damaged`);
  }
  const context: GlueTwinContext = { s3: s3.client, dynamodb: dynamodb.client, scratchDir: layout.scratchDir };
  let spark: LocalSpark | undefined;
  if (engine === 'spark') {
    try {
      const python = preparePython((line) => stage.line(line));
      spark = await LocalSpark.start({ python, mirrorDir: join(layout.root, 'spark', 'mirror'), buckets: Object.values(buckets), s3Endpoint: s3.endpoint, dynamodbEndpoint: dynamodb.endpoint });
    } catch (error) {
      await s3.close();
      await dynamodb.close();
      throw new StageError(stage.name, error, 'npm run setup:python makes the Python environment (Python 3.11, Java 17); npm start without --engine spark needs neither');
    }
    stage.line(`local Spark up in ${seconds(spark.startupSeconds * 1000)} (one session for every job run; its log: ${join(layout.root, 'spark', 'spark.log')})`);
  }
  // The real refresh-follow-up at the end of each refresh run, as the stack's RefreshFollowUp rules call it.
  const followUpMetrics = localFollowUpMetrics(`${config.prefix}-${config.stage}-refresh`);
  const followUp = async (run: LocalWorkflowRun) => {
    const dependencies = { glue: glue.runner.client(), s3: s3.client, logger: new Logger({ serviceName: 'dynalake-local', logLevel: 'SILENT' }), metrics: followUpMetrics };
    followUps.set(run.id, await followUpRunEnd({ ...dependencies, workflowName: run.workflowName, landingBucket: buckets.landing, lakeBucket: buckets.lake, merges: REFRESH_MERGES }, workflowRunEndEvent(run)));
  };
  const followUps = new Map<string, RunEndResult>();
  /** Which run's end started `runId`, and why, when refresh-follow-up started it. */
  const followUpOrigin = (runId: string): string | undefined => {
    for (const [endedRunId, result] of followUps) {
      if ('followUp' in result && 'runId' in result.followUp && result.followUp.runId === runId) return `the follow-up of ${endedRunId} (${counted(result.waiting, 'change object')} had landed during it)`;
    }
    return undefined;
  };
  const glue = localGlue(config, context, buckets, spark ? runOnSpark(spark) : runTwin, { onWorkflowRunEnded: followUp });
  try {
    await ensureTables(dynamodb.client, [
      ...Object.values(tables),
      {
        TableName: idempotencyTable,
        KeySchema: [{ AttributeName: IDEMPOTENCY_KEY_ATTRIBUTE, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_KEY_ATTRIBUTE, AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      },
    ]);
    await ensureBuckets(s3.client, Object.values(buckets));
    const glueEndpoint = await glue.runner.start();
    stage.line(`dynalite ${dynamodb.endpoint}, s3rver ${s3.endpoint}, local Glue ${glueEndpoint}; state in ${layout.root}`);
    stage.line(`tables ${Object.values(tables).map((table) => table.TableName).join(', ')}, ${idempotencyTable}; buckets ${Object.values(buckets).join(', ')}`);
    timings.push(['setup', stage.done()]);

    const glueClient = glue.runner.client();
    const logger = new Logger({ serviceName: 'dynalake-local', logLevel: 'SILENT' });
    const streams: Record<CdcTable, TableStream> = {
      orders: new TableStream(dynamodb.client, tables.orders.TableName, ['InvoiceNo', 'LineNo'], join(layout.root, 'streams')),
      user_Campaign: new TableStream(dynamodb.client, tables.userCampaign.TableName, ['userID', 'campaignID'], join(layout.root, 'streams')),
      campaignInfo: new TableStream(dynamodb.client, tables.campaignInfo.TableName, ['campaignID'], join(layout.root, 'streams')),
    };
    // What the real handler publishes, kept for the run's summary instead of printed.
    const streamMetrics: Record<CdcTable, CapturedMetrics> = { orders: localStreamMetrics('orders'), user_Campaign: localStreamMetrics('user_Campaign'), campaignInfo: localStreamMetrics('campaignInfo') };
    const uploadMetrics = localUploadMetrics('orders');

    /** Every change since the last capture → stream-to-lake in batches; the capture is committed once all are handled. */
    const streamChanges = async (current: Stage, only?: readonly CdcTable[]) => {
      for (const [table, stream] of Object.entries(streams) as [CdcTable, TableStream][]) {
        if (only && !only.includes(table)) continue;
        const { records, commit } = await stream.capture();
        const kinds = { INSERT: 0, MODIFY: 0, REMOVE: 0 };
        for (const record of records) kinds[record.eventName ?? 'INSERT']++;
        let objects = 0;
        let started = 0;
        let alreadyRunning = 0;
        for (let offset = 0; offset < records.length; offset += config.streamBatchSize) {
          const batch: DynamoDBRecord[] = records.slice(offset, offset + config.streamBatchSize);
          const result: StreamBatchResult = await processStreamBatch(
            { s3: s3.client, glue: glueClient, logger, metrics: streamMetrics[table], landingBucket: buckets.landing, workflowName: glue.workflowName, dataset: table },
            { Records: batch },
          );
          if (result.response.batchItemFailures.length > 0) throw new Error(`stream-to-lake reported failed records from ${result.response.batchItemFailures[0]?.itemIdentifier ?? '?'}`);
          objects++;
          if ('runId' in result.workflow) started++;
          else if (result.workflow.skipped === 'already-running') alreadyRunning++;
        }
        await commit();
        current.line(
          `${table.padEnd(13)} ${count(records.length).padStart(9)} change records (${count(kinds.INSERT)} INSERT, ${count(kinds.MODIFY)} MODIFY, ${count(kinds.REMOVE)} REMOVE) → ${counted(objects, 'object')} in cdc/${table}/; workflow started ${count(started)}×, already running ${count(alreadyRunning)}×`,
        );
      }
    };

    /** Waits for the runs the handlers started, then starts the workflow once more, as its EventBridge Scheduler schedule would. */
    const refresh = async (current: Stage) => {
      await glue.runner.idle();
      const scheduled = glue.runner.startWorkflowRun(glue.workflowName);
      await glue.runner.idle();
      const runs = glue.runner.workflowRuns.filter((run) => !reported.has(run.id));
      for (const run of runs) {
        reported.add(run.id);
        describeWorkflowRun(run, current, followUpOrigin(run.id));
      }
      const failed = runs.find((run) => run.state === 'FAILED');
      if (failed) throw new Error(`workflow run ${failed.id}: ${failed.error ?? 'failed'}`);
      return scheduled;
    };
    const reported = new Set<string>();

    // 1. seed
    const file = options.file !== undefined ? resolve(options.file) : rows === undefined ? SAMPLE_FILE : join(layout.root, `online-retail-synthetic-${String(rows)}.csv`);
    const seeded = await runStage('seed: the orders CSV into the orders table, and generated campaigns', 'check the file named above; npm run seed -- --help explains the loader', async (stage) => {
      if (rows !== undefined && !existsSync(file)) await writeRetailSample({ rows, seed: 1, out: file });
      const summary = await loadOrders({ file, tableName: tables.orders.TableName, client: dynamodb.client, rejectsPath: join(layout.root, `${basename(file, '.csv')}.rejects.csv`) });
      stage.line(`${basename(file)}: ${count(summary.read)} rows read = ${count(summary.written)} written + ${count(summary.rejected)} rejected (${count(Math.round(summary.rowsPerSecond))} rows/s)`);
      if (summary.rejected > 0) stage.line(`rejected rows, with line, field and reason: ${summary.rejectsPath}`);
      const campaigns = await loadCampaigns({ client: dynamodb.client, campaignInfoTable: tables.campaignInfo.TableName, userCampaignTable: tables.userCampaign.TableName, users: 200 });
      stage.line(`campaigns: ${count(campaigns.written)} items (campaignInfo and user_Campaign)`);
      return { file, read: summary.read, written: summary.written, rejected: summary.rejected };
    });

    // 2. stream
    await runStage('stream: table changes → stream-to-lake handler → cdc/ objects in the landing bucket', 'the capture was not committed: run npm start again to replay it', async (stage) => {
      await streamChanges(stage);
    });

    // 3. refresh
    await runStage(`refresh: the refresh workflow on the local Glue (${engine === 'spark' ? 'PySpark on Spark' : 'DuckDB twins'})`, 'fix the cause and run npm start again: each job resumes from its state object (state/ in the lake bucket)', async (stage) => {
      await refresh(stage);
    });

    // 4. upload
    await runStage('upload: raw/*.csv → upload-to-glue handler → csv_to_dynamodb → uploads table', 'see the job message above; the upload can be retried by running npm start again', async (stage) => {
      const events: S3Event[] = [];
      s3.onEvent((event) => events.push(event));
      const key = `${LAKE_LAYOUT.rawPrefix}${basename(file)}`;
      await s3.client.send(new PutObjectCommand({ Bucket: buckets.landing, Key: key, Body: readFileSync(file) }));
      const delivered = events.find((candidate) => candidate.Records.some((record) => record.s3.object.key === encodeEventKey(key)));
      if (!delivered) throw new Error(`s3rver sent no event for ${key}`);
      const upload = createUploadToGlueHandler({
        glue: glueClient,
        logger,
        metrics: uploadMetrics,
        persistenceStore: new DynamoDBPersistenceLayer({ tableName: idempotencyTable, awsSdkV3Client: dynamodb.client }),
        jobName: glue.csvJobName,
        targetTableName: tables.uploads.TableName,
      });
      const first = await upload(delivered, lambdaContext('upload-to-glue', 120_000));
      const second = await upload(delivered, lambdaContext('upload-to-glue', 120_000));
      await glue.runner.idle();
      for (const started of first.started) {
        const run = glue.runner.jobRuns.find((candidate) => candidate.id === started.jobRunId);
        stage.line(`s3://${started.bucket}/${started.key} → ${glue.csvJobName} run ${started.jobRunId}: ${run?.state ?? '?'} ${(run?.result as { summary?: string } | undefined)?.summary ?? run?.error ?? ''}`);
        if (run?.state === 'FAILED') throw new Error(run.error);
      }
      const newRuns = second.started.filter((started) => !first.started.some((earlier) => earlier.jobRunId === started.jobRunId)).length;
      stage.line(`second delivery of the same event: ${newRuns === 0 ? 'no new run (idempotency record found)' : `${String(newRuns)} new run(s)!`}`);
      if (first.started.length === 0 && first.skipped.length === 0) stage.line('(the object was already loaded by an earlier npm start: same version, no new run)');
    });

    // 5. queries
    const lakeQuery = (sqls: readonly string[]) => queryLake({ s3: s3.client, bucket: buckets.lake, lakeDir: join(layout.scratchDir, 'lake') }, sqls);
    await runStage('queries: the Athena named queries, on the lake (DuckDB)', 'npm run query -- "SELECT count(*) FROM orders" checks the lake by hand', async (stage) => {
      const queries = pipelineNamedQueries(config);
      const results = await lakeQuery(queries.map((query) => query.localSql));
      queries.forEach((query, index) => {
        const result = results[index];
        if (!result) return;
        stage.line(`\n  ${query.name}: ${query.description}`);
        const shown = result.rows.slice(0, 8);
        for (const line of textTable(result.columns.map((column) => column.name), shown).split('\n')) stage.line(`  ${line}`);
        if (result.rows.length > shown.length) stage.line(`  … ${count(result.rows.length - shown.length)} more rows (npm run query -- "${query.localSql}")`);
      });
    });

    // 6. changes
    if (options.changes ?? true) {
      await runStage(`changes: update and delete a few orders, stream, refresh, and show them in the lake`, 'run npm start again: the changes stream and refresh again from where they stopped', async (stage) => {
        const keys = await firstOrderKeys(dynamodb.client, tables.orders.TableName, CHANGE_KEYS);
        const [updated, deleted] = [keys.slice(0, 3), keys.slice(3)];
        changed = { updated, deleted };
        const keySql = (list: typeof keys) => list.map(({ invoice, line }) => `(invoice_no = '${invoice.replace(/'/g, "''")}' AND line_no = ${String(line)})`).join(' OR ');
        const watch = `SELECT invoice_no, line_no, quantity, unit_price, invoice_day FROM orders WHERE ${keySql(keys)} ORDER BY invoice_no, line_no`;
        const [before] = await lakeQuery([watch]);
        for (const { invoice, line } of updated) {
          await dynamodb.client.send(
            new UpdateItemCommand({
              TableName: tables.orders.TableName,
              Key: { InvoiceNo: { S: invoice }, LineNo: { N: String(line) } },
              UpdateExpression: 'SET Quantity = Quantity + :ten',
              ExpressionAttributeValues: { ':ten': { N: '10' } },
            }),
          );
        }
        for (const { invoice, line } of deleted) {
          await dynamodb.client.send(new DeleteItemCommand({ TableName: tables.orders.TableName, Key: { InvoiceNo: { S: invoice }, LineNo: { N: String(line) } } }));
        }
        stage.line(`updated Quantity += 10 on ${updated.map(({ invoice, line }) => `${invoice}/${String(line)}`).join(', ')}; deleted ${deleted.map(({ invoice, line }) => `${invoice}/${String(line)}`).join(', ')}`);
        await streamChanges(stage, ['orders']);
        await refresh(stage);
        const [after] = await lakeQuery([watch]);
        const columns = ['invoice_no', 'line_no', 'quantity', 'unit_price', 'invoice_day'];
        stage.line('the lake before:');
        for (const line of textTable(columns, before?.rows ?? []).split('\n')) stage.line(`  ${line}`);
        stage.line('the lake after (updated rows +10, deleted rows gone):');
        for (const line of textTable(columns, after?.rows ?? []).split('\n')) stage.line(`  ${line}`);
      });
    }

    const metrics = summarizeMetrics(
      { stream: Object.values(streamMetrics).flatMap((captured) => captured.documents), upload: uploadMetrics.documents, followUp: followUpMetrics.documents },
      glue.runner.jobRuns.map((jobRun) => (jobRun.result as GlueTwinResult | undefined)?.metrics ?? []),
    );
    print('');
    for (const line of metricsSummaryLines(metrics)) print(line);
    print(`\n✓ pipeline done in ${seconds(performance.now() - began)}: ${timings.map(([name, ms]) => `${name} ${seconds(ms)}`).join(', ')}`);
    print('  Ask the lake yourself: npm run query -- "SELECT country, count(*) AS lines FROM orders GROUP BY 1 ORDER BY 2 DESC LIMIT 5"');
    return { buckets, seeded, changed, timings, jobRuns: glue.runner.jobRuns, engine, sparkStartupSeconds: spark?.startupSeconds, metrics };
  } finally {
    await glue.runner.close();
    await spark?.close();
    await s3.close();
    await dynamodb.close();
  }
}

/** A Lambda invocation context, as the runtime gives one: the idempotency layer reads the time left from it. */
function lambdaContext(handlerName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `dynalake-local-${handlerName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:dynalake-local-${handlerName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/dynalake-local-${handlerName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  // The callback-era methods are deprecated and never called by the handlers.
  return context as Context;
}

/** The first `count` order keys in key order (deterministic across runs on the same data). */
async function firstOrderKeys(client: DynamoDBClient, tableName: string, count: number): Promise<OrderKey[]> {
  const keys: OrderKey[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName, ProjectionExpression: 'InvoiceNo, LineNo' })) {
    for (const item of page.Items ?? []) keys.push(keyOf(item));
  }
  keys.sort((a, b) => (a.invoice === b.invoice ? a.line - b.line : a.invoice < b.invoice ? -1 : 1));
  return keys.filter((key) => !key.invoice.startsWith('C')).slice(0, count);
}

function keyOf(item: Record<string, AttributeValue>): OrderKey {
  return { invoice: item.InvoiceNo?.S ?? '', line: Number(item.LineNo?.N) };
}

