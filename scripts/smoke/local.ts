/**
 * `npm run smoke -- --local`: the smoke test's environment on the local pipeline's services, with
 * the stream emulation running by itself, as DynamoDB Streams and Lambda do in the cloud.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lakeDatabaseName } from '../../lib/stacks/pipeline-stack';
import { localQuerySql, queryLake } from '../local/lake';
import { type JobRunner, startLocalServices } from '../local/services';
import type { SmokeEnvironment } from './smoke';

/** Options of {@link startLocalSmokeEnvironment}. */
export interface LocalSmokeOptions {
  /** The local pipeline's state folder. */
  readonly stateDir: string;
  /** How often the stream emulation looks for changes. @default 1000 */
  readonly streamPollMs?: number;
  /** Runs each Glue job instead of its DuckDB twin (a test holds the lake stale with one that does nothing). @default - the twins */
  readonly runJob?: JobRunner;
  /** Where the stream emulation reports a failed pass. @default console.error */
  readonly print?: (line: string) => void;
}

/** Starts the local services and the stream emulation; `close` stops both. */
export async function startLocalSmokeEnvironment(options: LocalSmokeOptions): Promise<SmokeEnvironment & { close(): Promise<void> }> {
  const print = options.print ?? ((line: string) => { console.error(line); });
  const services = await startLocalServices({ stateDir: options.stateDir, runJob: options.runJob });
  const { config, buckets, tables, s3 } = services;
  const database = lakeDatabaseName(config);
  const stopping = new AbortController();
  const stream = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await services.streamChanges(['orders']);
      } catch (error) {
        // Not committed: the next pass replays the same changes, as Lambda retries a batch.
        print(`stream emulation: ${(error as Error).message}`);
      }
      await sleep(options.streamPollMs ?? 1000);
    }
  })();
  return {
    description: `the local pipeline in ${services.layout.root}`,
    dynamodb: services.dynamodb.client,
    s3: s3.client,
    glue: services.glueClient,
    ordersTable: tables.orders.TableName,
    landingBucket: buckets.landing,
    workflowName: services.glue.workflowName,
    database,
    queryScalar: async (sql) => {
      const [result] = await queryLake({ s3: s3.client, bucket: buckets.lake, lakeDir: join(services.layout.scratchDir, 'lake') }, [localQuerySql(sql, database)]);
      const value = Object.values(result?.rows[0] ?? {})[0];
      return value === undefined || value === null ? undefined : typeof value === 'object' ? JSON.stringify(value) : String(value);
    },
    close: async () => {
      stopping.abort();
      await stream;
      await services.close();
    },
  };
}
