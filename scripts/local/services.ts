/**
 * The local pipeline's services, started once and shared by `npm start` and `npm run smoke -- --local`:
 * an embedded DynamoDB and S3, the local Glue (the DuckDB twins, or the PySpark jobs on a local
 * Spark) with its refresh workflow, the stream emulation feeding the real stream-to-lake handler,
 * and the real refresh-follow-up at the end of each refresh run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { GlueClient } from '@aws-sdk/client-glue';
import { parseConfig, type PipelineConfig } from '../../lib/config';
import { IDEMPOTENCY_KEY_ATTRIBUTE } from '../../lib/constructs/upload-to-glue';
import { lakeJobArguments, REFRESH_MERGES } from '../../lib/stacks/pipeline-stack';
import { followUpRunEnd, type RunEndResult } from '../../lambda/refresh-follow-up';
import { processStreamBatch } from '../../lambda/stream-to-lake';
import { ensureTables, startLocalDynamoDB } from './dynamodb';
import { runCampaignProgress } from './glue/campaign-progress';
import { runCsvToDynamoDB } from './glue/csv-to-dynamodb';
import { runDatasetToLake } from './glue/dataset-to-lake';
import type { GlueTwinContext, JobArguments } from './glue/job';
import { runSalesStarSchema } from './glue/sales-star-schema';
import { LocalSpark, preparePython } from './glue/spark';
import { type LocalGlueOptions, type LocalJob, LocalGlueRunner, type LocalWorkflowRun, workflowRunEndEvent } from './glue-runner';
import { localBucketNames, type LocalLayout, localLayout } from './layout';
import { type CapturedMetrics, localFollowUpMetrics, localStreamMetrics } from './metrics';
import { ensureBuckets, startLocalS3 } from './s3';
import { TableStream } from './stream';
import { storageTableDefinitions } from './table-definitions';

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
/** A job's name, as the pipeline stack names it: `<prefix>-<stage>-orders-to-lake` for orders_to_lake. */
export function localJobName(config: Pick<PipelineConfig, 'prefix' | 'stage'>, script: string): string {
  return `${config.prefix}-${config.stage}-${script.replace(/_/g, '-')}`;
}

export function localGlue(config: PipelineConfig, context: GlueTwinContext, buckets: ReturnType<typeof localBucketNames>, runJob: JobRunner = runTwin, options: LocalGlueOptions = {}) {
  const name = `${config.prefix}-${config.stage}`;
  const jobName = (script: string) => localJobName(config, script);
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

/** The datasets of the built-in pipeline that stream into the landing bucket. */
export type CdcTable = 'orders' | 'user_Campaign' | 'campaignInfo';

/** What one pass of the stream emulation did for one table. */
export interface StreamPass {
  readonly table: CdcTable;
  readonly records: number;
  readonly kinds: Readonly<Record<'INSERT' | 'MODIFY' | 'REMOVE', number>>;
  /** CDC objects written (one per batch). */
  readonly objects: number;
  /** Workflow runs the handler started, and starts Glue refused because one was running. */
  readonly started: number;
  readonly alreadyRunning: number;
  /** Whether the capture scanned the table, or read only the items written since the last pass (the write journal). */
  readonly scanned: boolean;
  /** Items the capture read. */
  readonly itemsRead: number;
}

/** A service that failed to start, with what the user can do about it. */
export class LocalSetupError extends Error {
  constructor(
    readonly problem: unknown,
    readonly nextStep: string,
  ) {
    super(problem instanceof Error ? problem.message : String(problem));
  }
}

/** Options of {@link startLocalServices}. */
export interface LocalServicesOptions {
  /** State folder (dynalite, s3rver, the Spark mirror, stream snapshots). */
  readonly stateDir: string;
  /** What runs the Glue jobs. @default 'duckdb' */
  readonly engine?: GlueEngine;
  /**
   * Runs each job instead of the engine (a test holding the lake stale runs none).
   * @default - the engine's runner
   */
  readonly runJob?: JobRunner;
  /** Progress lines of the setup (the Python environment's preparation). @default - none */
  readonly print?: (line: string) => void;
}

/** The started services; `close` waits for the runs going and stops everything. */
export interface LocalServices {
  readonly config: PipelineConfig;
  readonly layout: LocalLayout;
  readonly buckets: ReturnType<typeof localBucketNames>;
  readonly tables: ReturnType<typeof storageTableDefinitions>;
  readonly idempotencyTable: string;
  readonly dynamodb: Awaited<ReturnType<typeof startLocalDynamoDB>>;
  readonly s3: Awaited<ReturnType<typeof startLocalS3>>;
  readonly glue: ReturnType<typeof localGlue>;
  /** A Glue client of the local Glue, as a handler creates one. */
  readonly glueClient: GlueClient;
  readonly glueEndpoint: string;
  /** The local Spark, with the Spark engine. */
  readonly spark?: LocalSpark;
  /** What the real stream-to-lake handlers published, per table. */
  readonly streamMetrics: Readonly<Record<CdcTable, CapturedMetrics>>;
  /** What the real refresh-follow-up published. */
  readonly followUpMetrics: CapturedMetrics;
  /** refresh-follow-up's answer to the end of each workflow run, by run id. */
  readonly followUps: ReadonlyMap<string, RunEndResult>;
  /**
   * Every change since the last capture → stream-to-lake in batches, as DynamoDB Streams and
   * Lambda deliver them; each table's capture is committed once all its batches are handled.
   */
  streamChanges(only?: readonly CdcTable[]): Promise<StreamPass[]>;
  close(): Promise<void>;
}

/**
 * Starts the local pipeline's services in `stateDir`: tables and buckets as the synthesized
 * stacks define them, the local Glue listening on a loopback port.
 * @throws LocalSetupError naming what the user can do next.
 */
export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const layout = localLayout(options.stateDir);
  const config = readConfig();
  const buckets = localBucketNames(config);
  const tables = storageTableDefinitions(config);
  const idempotencyTable = `${config.prefix}-${config.stage}-idempotency`;
  const stopping: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const stop of stopping.reverse()) await stop();
  };
  try {
    let dynamodb: LocalServices['dynamodb'];
    let s3: LocalServices['s3'];
    try {
      dynamodb = await startLocalDynamoDB({ path: layout.dynamodbDir });
      stopping.push(() => dynamodb.close());
      s3 = await startLocalS3({ path: layout.s3Dir });
      stopping.push(() => s3.close());
    } catch (error) {
      throw new LocalSetupError(error, `delete ${layout.root} (or run npm start -- --fresh) if its data is damaged`);
    }
    let spark: LocalSpark | undefined;
    if (options.runJob === undefined && options.engine === 'spark') {
      try {
        const python = preparePython(options.print ?? (() => undefined));
        spark = await LocalSpark.start({ python, mirrorDir: join(layout.root, 'spark', 'mirror'), buckets: Object.values(buckets), s3Endpoint: s3.endpoint, dynamodbEndpoint: dynamodb.endpoint });
      } catch (error) {
        throw new LocalSetupError(error, 'npm run setup:python makes the Python environment (Python 3.11, Java 17); npm start without --engine spark needs neither');
      }
      const started = spark;
      stopping.push(() => started.close());
    }
    const logger = new Logger({ serviceName: 'dynalake-local', logLevel: 'SILENT' });
    // The real refresh-follow-up at the end of each refresh run, as the stack's RefreshFollowUp rules call it.
    const followUpMetrics = localFollowUpMetrics(`${config.prefix}-${config.stage}-refresh`);
    const followUps = new Map<string, RunEndResult>();
    const followUp = async (run: LocalWorkflowRun) => {
      const dependencies = { glue: glue.runner.client(), s3: s3.client, logger, metrics: followUpMetrics };
      followUps.set(run.id, await followUpRunEnd({ ...dependencies, workflowName: run.workflowName, landingBucket: buckets.landing, lakeBucket: buckets.lake, merges: REFRESH_MERGES }, workflowRunEndEvent(run)));
    };
    const context: GlueTwinContext = { s3: s3.client, dynamodb: dynamodb.client, scratchDir: layout.scratchDir };
    const glue = localGlue(config, context, buckets, options.runJob ?? (spark ? runOnSpark(spark) : runTwin), { onWorkflowRunEnded: followUp });
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
    stopping.push(() => glue.runner.close());
    const glueClient = glue.runner.client();

    const streamsDir = join(layout.root, 'streams');
    const streams: Record<CdcTable, TableStream> = {
      orders: new TableStream(dynamodb.client, tables.orders.TableName, ['InvoiceNo', 'LineNo'], streamsDir, { journal: dynamodb.journal }),
      user_Campaign: new TableStream(dynamodb.client, tables.userCampaign.TableName, ['userID', 'campaignID'], streamsDir, { journal: dynamodb.journal }),
      campaignInfo: new TableStream(dynamodb.client, tables.campaignInfo.TableName, ['campaignID'], streamsDir, { journal: dynamodb.journal }),
    };
    // What the real handler publishes, kept for the run's summary instead of printed.
    const streamMetrics: Record<CdcTable, CapturedMetrics> = { orders: localStreamMetrics('orders'), user_Campaign: localStreamMetrics('user_Campaign'), campaignInfo: localStreamMetrics('campaignInfo') };

    const streamChanges = async (only?: readonly CdcTable[]): Promise<StreamPass[]> => {
      const passes: StreamPass[] = [];
      for (const [table, stream] of Object.entries(streams) as [CdcTable, TableStream][]) {
        if (only && !only.includes(table)) continue;
        const capture = await stream.capture();
        const kinds = { INSERT: 0, MODIFY: 0, REMOVE: 0 };
        let objects = 0;
        let started = 0;
        let alreadyRunning = 0;
        for await (const batch of capture.batches(config.streamBatchSize)) {
          for (const record of batch) kinds[record.eventName ?? 'INSERT']++;
          const result = await processStreamBatch(
            { s3: s3.client, glue: glueClient, logger, metrics: streamMetrics[table], landingBucket: buckets.landing, workflowName: glue.workflowName, dataset: table },
            { Records: batch },
          );
          if (result.response.batchItemFailures.length > 0) throw new Error(`stream-to-lake reported failed records from ${result.response.batchItemFailures[0]?.itemIdentifier ?? '?'}`);
          objects++;
          if ('runId' in result.workflow) started++;
          else if (result.workflow.skipped === 'already-running') alreadyRunning++;
        }
        await capture.commit();
        passes.push({ table, records: kinds.INSERT + kinds.MODIFY + kinds.REMOVE, kinds, objects, started, alreadyRunning, scanned: capture.scanned, itemsRead: capture.items });
      }
      return passes;
    };

    return { config, layout, buckets, tables, idempotencyTable, dynamodb, s3, glue, glueClient, glueEndpoint, spark, streamMetrics, followUpMetrics, followUps, streamChanges, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
