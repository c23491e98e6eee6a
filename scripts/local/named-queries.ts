import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { CfnNamedQuery } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase } from 'aws-cdk-lib/aws-glue';
import type { IConstruct } from 'constructs';
import { buildDynalakeApp } from '../../lib/app';
import { CONFIG_CONTEXT_KEY, type PipelineConfigInput } from '../../lib/config';
import { localQuerySql } from './lake';

/**
 * The Athena named queries of the pipeline stack, as local SQL: read from the stack as CDK builds
 * it (its CfnNamedQuery resources), so the queries `npm start` runs locally are the ones deployed.
 * Kept apart from lake.ts, which must not load aws-cdk-lib (the query CLI starts fast).
 */

/** A named query and its local form. */
export interface LocalNamedQuery {
  readonly name: string;
  readonly description: string;
  /** The Glue database the query runs in. */
  readonly database: string;
  /** The SQL as Athena runs it. */
  readonly sql: string;
  /** The SQL for the local lake (database qualifier dropped). */
  readonly localSql: string;
}

/** The named queries defined under `scope` (a PipelineStack, or a whole app), in construct order. */
export function namedQueriesOf(scope: IConstruct): LocalNamedQuery[] {
  return scope.node
    .findAll()
    .filter((construct): construct is CfnNamedQuery => construct instanceof CfnNamedQuery)
    .map((query) => {
      const stack = Stack.of(query);
      const text = (value: unknown) => String(stack.resolve(value));
      const database = databaseName(stack, query.database);
      const sql = text(query.queryString);
      return { name: text(query.name), description: text(query.description ?? ''), database, sql, localSql: localQuerySql(sql, database) };
    });
}

/**
 * A query's database as a name. The Glue Database construct hands out its name as a reference
 * to itself (`{ Ref }`) unless the app's feature flags make it a literal; either way the name is
 * the one its CfnDatabase declares.
 */
function databaseName(stack: Stack, value: string): string {
  const resolved: unknown = stack.resolve(value);
  if (typeof resolved === 'string') return resolved;
  const ref = (resolved as { Ref?: unknown } | null)?.Ref;
  const database = stack.node
    .findAll()
    .find((construct): construct is CfnDatabase => construct instanceof CfnDatabase && stack.resolve(stack.getLogicalId(construct)) === ref);
  const input = database === undefined ? undefined : (stack.resolve(database.databaseInput) as { name?: unknown });
  if (typeof input?.name !== 'string') throw new Error(`cannot tell the database of a named query from ${JSON.stringify(resolved)}`);
  return input.name;
}

/**
 * The pipeline's named queries for a configuration (the `dynalake` context object): builds the
 * dynalake app in memory (nothing is synthesized) and reads them from it.
 */
export function pipelineNamedQueries(config: PipelineConfigInput = {}): LocalNamedQuery[] {
  const outdir = mkdtempSync(join(tmpdir(), 'dynalake-queries-'));
  try {
    // No bundling: only the named queries are read, never the Lambda code.
    const app = new App({ outdir, context: { [CONFIG_CONTEXT_KEY]: config, 'aws:cdk:bundling-stacks': [] } });
    return namedQueriesOf(buildDynalakeApp(app).pipeline);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
