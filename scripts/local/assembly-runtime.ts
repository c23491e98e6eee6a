import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { datasetJobArguments, datasetJobKey, datasetLayout } from '../../lib/constructs/lake-dataset';
import { followUpRunEnd } from '../../lambda/refresh-follow-up';
import { processStreamBatch } from '../../lambda/stream-to-lake';
import { type AssemblyDataset, datasetsOfAssembly } from './assembly-datasets';
import { ensureTables, startLocalDynamoDB } from './dynamodb';
import { runDatasetToLake } from './glue/dataset-to-lake';
import type { GlueTwinContext } from './glue/job';
import { type LocalJob, LocalGlueRunner, type LocalWorkflowRun, workflowRunEndEvent } from './glue-runner';
import { type LakeQueryResult, queryLake } from './lake';
import { datasetLakeTable } from './lake-tables';
import { localLayout } from './layout';
import { ensureBuckets, startLocalS3 } from './s3';
import { TableStream } from './stream';
import { type CapturedMetrics, localFollowUpMetrics, localStreamMetrics } from './metrics';

/**
 * The datasets of any synthesized assembly (a consumer's app too) on local parts: each table in
 * the embedded DynamoDB, its changes through the real stream-to-lake handler into the embedded
 * S3, and its CDC-merge job (the DuckDB twin of dataset_to_lake) on the local Glue, in a workflow
 * of its own that the handler starts, as LakeDataset builds it.
 */

/** The local buckets every dataset shares. */
export const ASSEMBLY_BUCKETS = { landing: 'dynalake-local-landing', lake: 'dynalake-local-lake', assets: 'dynalake-local-assets' } as const;

/** What one `stream()` did for a dataset. */
export interface DatasetStreamResult {
  readonly dataset: string;
  readonly records: number;
  readonly objects: number;
}

/** The running local datasets of an assembly. */
export interface AssemblyRuntime {
  /** The datasets, as the assembly declares them. */
  readonly datasets: readonly AssemblyDataset[];
  /** The embedded DynamoDB, where each dataset's table is `datasets[i].table.TableName`. */
  readonly dynamodb: DynamoDBClient;
  /** Where the embedded DynamoDB and S3 listen, for any other client (the AWS CLI, an app). */
  readonly endpoints: { readonly dynamodb: string; readonly s3: string };
  /** Every change since the last call, through the stream-to-lake handler, per dataset. */
  stream(): Promise<DatasetStreamResult[]>;
  /** Waits for the runs the handler started, then starts each dataset's workflow once more (its schedule); fails on a failed run. */
  refresh(): Promise<LocalWorkflowRun[]>;
  /** Runs SQL over the datasets' lake tables (`curated_<name>`). */
  query(sql: string): Promise<LakeQueryResult>;
  close(): Promise<void>;
}

/** Options of {@link startAssemblyRuntime}. */
export interface AssemblyRuntimeOptions {
  /** The synthesized assembly (`cdk.out`). */
  readonly assemblyDir: string;
  /** State folder of the embedded DynamoDB and S3, the stream snapshots and the twins' scratch. */
  readonly stateDir: string;
  /**
   * Most stream records per handler batch.
   * @default 1000 (StreamToLake's)
   */
  readonly batchSize?: number;
}

/** Starts the datasets of an assembly on local parts. */
export async function startAssemblyRuntime(options: AssemblyRuntimeOptions): Promise<AssemblyRuntime> {
  const datasets = datasetsOfAssembly(options.assemblyDir);
  const layout = localLayout(options.stateDir);
  mkdirSync(layout.scratchDir, { recursive: true });
  const dynamodb = await startLocalDynamoDB({ path: layout.dynamodbDir });
  const s3 = await startLocalS3({ path: layout.s3Dir });
  const context: GlueTwinContext = { s3: s3.client, dynamodb: dynamodb.client, scratchDir: layout.scratchDir };
  const workflowOf = (entry: AssemblyDataset) => `${entry.jobName}-refresh`;
  const jobs: Record<string, LocalJob> = {};
  for (const entry of datasets) {
    jobs[entry.jobName] = {
      maxConcurrentRuns: 1,
      defaultArguments: datasetJobArguments(entry.dataset, {
        landingBucket: ASSEMBLY_BUCKETS.landing,
        lakeBucket: ASSEMBLY_BUCKETS.lake,
        assetsBucket: ASSEMBLY_BUCKETS.assets,
        tableArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${entry.table.TableName}`,
      }),
      run: (args) => runDatasetToLake(context, args),
    };
  }
  const logger = new Logger({ serviceName: 'dynalake-local', logLevel: 'SILENT' });
  // Each dataset's own workflow is followed up as its LakeDataset's RefreshFollowUp does: the real handler at the end of each run.
  const followUp = async (run: LocalWorkflowRun) => {
    const entry = datasets.find((candidate) => workflowOf(candidate) === run.workflowName);
    if (entry === undefined) return;
    const { statePrefix, cdcPrefix } = datasetLayout(entry.dataset);
    await followUpRunEnd(
      {
        glue: runner.client(),
        s3: s3.client,
        logger,
        metrics: localFollowUpMetrics(run.workflowName),
        workflowName: run.workflowName,
        landingBucket: ASSEMBLY_BUCKETS.landing,
        lakeBucket: ASSEMBLY_BUCKETS.lake,
        merges: [{ job: datasetJobKey(entry.dataset), statePrefix, cdcPrefixes: [cdcPrefix] }],
      },
      workflowRunEndEvent(run),
    );
  };
  const runner = new LocalGlueRunner(jobs, Object.fromEntries(datasets.map((entry) => [workflowOf(entry), { startTrigger: 'ON_DEMAND' as const, stages: [[entry.jobName]] }])), {
    onWorkflowRunEnded: followUp,
  });
  try {
    await ensureTables(dynamodb.client, datasets.map((entry) => entry.table));
    await ensureBuckets(s3.client, Object.values(ASSEMBLY_BUCKETS));
    await runner.start();
  } catch (error) {
    await runner.close();
    await s3.close();
    await dynamodb.close();
    throw error;
  }
  const glue = runner.client();
  const streams = datasets.map(
    (entry) => new TableStream(dynamodb.client, entry.table.TableName, (entry.table.KeySchema ?? []).map((key) => key.AttributeName ?? ''), join(layout.root, 'streams'), { journal: dynamodb.journal }),
  );
  const reported = new Set<string>();
  const streamMetrics = datasets.map((entry) => localStreamMetrics(entry.dataset.name));

  return {
    datasets,
    dynamodb: dynamodb.client,
    endpoints: { dynamodb: dynamodb.endpoint, s3: s3.endpoint },
    async stream() {
      const results: DatasetStreamResult[] = [];
      for (const [index, entry] of datasets.entries()) {
        const capture = await (streams[index] as TableStream).capture();
        let records = 0;
        let objects = 0;
        for await (const batch of capture.batches(options.batchSize ?? 1000)) {
          records += batch.length;
          const result = await processStreamBatch(
            { s3: s3.client, glue, logger, metrics: streamMetrics[index] as CapturedMetrics, landingBucket: ASSEMBLY_BUCKETS.landing, workflowName: workflowOf(entry), dataset: entry.dataset.name },
            { Records: batch },
          );
          if (result.response.batchItemFailures.length > 0) throw new Error(`stream-to-lake refused a record of ${entry.dataset.name} from ${result.response.batchItemFailures[0]?.itemIdentifier ?? '?'}`);
          objects++;
        }
        await capture.commit();
        results.push({ dataset: entry.dataset.name, records, objects });
      }
      return results;
    },
    async refresh() {
      await runner.idle();
      for (const entry of datasets) runner.startWorkflowRun(workflowOf(entry));
      await runner.idle();
      const runs = runner.workflowRuns.filter((run) => !reported.has(run.id));
      for (const run of runs) reported.add(run.id);
      const failed = runs.find((run) => run.state === 'FAILED');
      if (failed) throw new Error(`workflow run ${failed.id} of ${failed.workflowName}: ${failed.error ?? 'failed'}`);
      return runs;
    },
    async query(sql) {
      const [result] = await queryLake({ s3: s3.client, bucket: ASSEMBLY_BUCKETS.lake, lakeDir: join(layout.scratchDir, 'lake'), tables: datasets.map((entry) => datasetLakeTable(entry.dataset)) }, [sql]);
      if (!result) throw new Error('the lake returned no result');
      return result;
    },
    async close() {
      await runner.close();
      await s3.close();
      await dynamodb.close();
    },
  };
}
