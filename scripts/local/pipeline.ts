/**
 * The whole pipeline on this machine (`npm start`): embedded DynamoDB and S3, the real Lambda
 * handlers, the local Glue twins on DuckDB, and the named queries on the lake.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, S3Event } from 'aws-lambda';
import { LAKE_LAYOUT } from '../../lib/stacks/pipeline-stack';
import { DynalakeError } from '../../lambda/shared/errors';
import { encodeEventKey } from '../../lambda/shared/s3-event';
import { createUploadToGlueHandler } from '../../lambda/upload-to-glue';
import { writeRetailSample } from '../lib/retail-sample';
import { textTable } from '../lib/text-table';
import { count, counted, type GlueTwinResult } from './glue/job';
import type { LocalJobRun, LocalWorkflowRun } from './glue-runner';
import { textOf } from './glue/duckdb';
import { queryLake } from './lake';
import { localBucketNames, localLayout } from './layout';
import { pipelineNamedQueries } from './named-queries';
import { loadCampaigns } from '../seed/load-campaigns';
import { loadOrders } from '../seed/load-orders';
import { localUploadMetrics } from './metrics';
import { metricsSummaryLines, type PipelineMetrics, summarizeMetrics } from './metrics-summary';
import { type CdcTable, type GlueEngine, type LocalServices, LocalSetupError, readConfig, startLocalServices } from './services';

/** The real 1,071-row sample of the e-commerce file (see data/sample/README.md). */
export const SAMPLE_FILE = join(__dirname, '..', '..', 'data', 'sample', 'online-retail-sample.csv');

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
  let services: LocalServices;
  try {
    services = await startLocalServices({ stateDir: options.stateDir, engine, print: (line) => { stage.line(line); } });
  } catch (error) {
    if (error instanceof LocalSetupError) throw new StageError(stage.name, error.problem, error.nextStep);
    throw error;
  }
  const { tables, idempotencyTable, dynamodb, s3, glue, glueClient, spark, followUps } = services;
  /** Which run's end started `runId`, and why, when refresh-follow-up started it. */
  const followUpOrigin = (runId: string): string | undefined => {
    for (const [endedRunId, result] of followUps) {
      if ('followUp' in result && 'runId' in result.followUp && result.followUp.runId === runId) return `the follow-up of ${endedRunId} (${counted(result.waiting, 'change object')} had landed during it)`;
    }
    return undefined;
  };
  try {
    if (spark) stage.line(`local Spark up in ${seconds(spark.startupSeconds * 1000)} (one session for every job run; its log: ${join(layout.root, 'spark', 'spark.log')})`);
    stage.line(`dynalite ${dynamodb.endpoint}, s3rver ${s3.endpoint}, local Glue ${services.glueEndpoint}; state in ${layout.root}`);
    stage.line(`tables ${Object.values(tables).map((table) => table.TableName).join(', ')}, ${idempotencyTable}; buckets ${Object.values(buckets).join(', ')}`);
    timings.push(['setup', stage.done()]);

    const logger = new Logger({ serviceName: 'dynalake-local', logLevel: 'SILENT' });
    const uploadMetrics = localUploadMetrics('orders');

    /** Every change since the last capture → stream-to-lake, one line per table. */
    const streamChanges = async (current: Stage, only?: readonly CdcTable[]) => {
      for (const pass of await services.streamChanges(only)) {
        const { kinds } = pass;
        current.line(
          `${pass.table.padEnd(13)} ${count(pass.records).padStart(9)} change records (${count(kinds.INSERT)} INSERT, ${count(kinds.MODIFY)} MODIFY, ${count(kinds.REMOVE)} REMOVE) → ${counted(pass.objects, 'object')} in cdc/${pass.table}/; workflow started ${count(pass.started)}×, already running ${count(pass.alreadyRunning)}×; ` +
            (pass.scanned ? `scanned ${counted(pass.itemsRead, 'item')}` : `read the ${counted(pass.itemsRead, 'item')} written since the last pass`),
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
        // The lake's first order lines, cancellations aside: after the refresh the lake holds what
        // the table holds, and reading it costs no scan of the table (the full file's took 30 s).
        const [first] = await lakeQuery([`SELECT invoice_no, line_no FROM orders WHERE NOT starts_with(invoice_no, 'C') ORDER BY invoice_no, line_no LIMIT ${String(CHANGE_KEYS)}`]);
        const keys = (first?.rows ?? []).map((row) => ({ invoice: textOf(row.invoice_no), line: Number(row.line_no) }));
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
              // An order the lake has but the table has not fails here, rather than being created.
              ConditionExpression: 'attribute_exists(InvoiceNo)',
              ExpressionAttributeValues: { ':ten': { N: '10' } },
            }),
          );
        }
        for (const { invoice, line } of deleted) {
          await dynamodb.client.send(
            new DeleteItemCommand({ TableName: tables.orders.TableName, Key: { InvoiceNo: { S: invoice }, LineNo: { N: String(line) } }, ConditionExpression: 'attribute_exists(InvoiceNo)' }),
          );
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
      { stream: Object.values(services.streamMetrics).flatMap((captured) => captured.documents), upload: uploadMetrics.documents, followUp: services.followUpMetrics.documents },
      glue.runner.jobRuns.map((jobRun) => (jobRun.result as GlueTwinResult | undefined)?.metrics ?? []),
    );
    print('');
    for (const line of metricsSummaryLines(metrics)) print(line);
    print(`\n✓ pipeline done in ${seconds(performance.now() - began)}: ${timings.map(([name, ms]) => `${name} ${seconds(ms)}`).join(', ')}`);
    print('  Ask the lake yourself: npm run query -- "SELECT country, count(*) AS lines FROM orders GROUP BY 1 ORDER BY 2 DESC LIMIT 5"');
    return { buckets, seeded, changed, timings, jobRuns: glue.runner.jobRuns, engine, sparkStartupSeconds: spark?.startupSeconds, metrics };
  } finally {
    await services.close();
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
