import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ChangeRecord } from '../../../lambda/shared/cdc';
import { DynalakeError } from '../../../lambda/shared/errors';
import { CAMPAIGN_PROGRESS, queryColumns } from '../lake-tables';
import { createChangesTable, isChangeObject, NEWEST_FIRST, readChangeObjects } from './changes';
import { copyPartitioned, exactDecimalSql, type JsonRow, readRows, selectColumns, sqlIdentifier, sqlLiteral, textOf, withDuckDB } from './duckdb';
import { count, counted, type GlueTwinContext, type GlueTwinResult, type JobArguments, jobLogger, requireArguments, withScratch } from './job';
import { deleteKeys, folderPrefix, listObjects, uploadFolder } from './s3-files';

/**
 * The local twin of glue-scripts/campaign_progress.py: one curated row per (user, campaign, task)
 * from the complete change history of user_Campaign and campaignInfo (latest change per key,
 * removed items left out), partitioned by the UTC day the user joined (created_day). Every run
 * recomputes the whole table and replaces it; there is no bookmark.
 */

export const JOB = 'campaign_progress';

const PARTITION = 'created_day';
const COLUMNS = queryColumns(CAMPAIGN_PROGRESS);

/** What a recompute found and produced. */
export interface CampaignProgressCounts {
  readonly changeRecords: number;
  /** Current user-campaign items (latest change not a REMOVE). */
  readonly userCampaigns: number;
  /** Current campaigns. */
  readonly campaigns: number;
  /** Rows: one per task in a user's progress, or one for a user-campaign with none. */
  readonly rows: number;
  /** Rows whose task the campaign does not list (deadline and reward null). */
  readonly orphanTasks: number;
}

/** The curated rows, sorted by user_id, campaign_id, task_id (nulls first), and the counts. */
export interface CampaignProgress {
  readonly rows: JsonRow[];
  readonly counts: CampaignProgressCounts;
}

const money = (text: string, what: string) => exactDecimalSql(text, 12, 2, what);

/** An ISO time (`2024-01-12T10:30:00Z`, or without zone: UTC) as UTC wall-clock TIMESTAMP, or an error. */
function utcTimestamp(expression: string, what: string): string {
  const text = `(${expression})`; // `->>` binds more loosely than `||`
  return `CASE WHEN ${text} IS NULL THEN NULL
    WHEN TRY_CAST(${text} AS TIMESTAMPTZ) IS NOT NULL THEN CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP)
    ELSE error(${what} || ' ' || ${text} || ' is not an ISO-8601 time') END`;
}

/** The current items of a table from its change history: latest change per key, REMOVEs left out (latest_images). */
async function latestImages(connection: DuckDBConnection, changes: string, target: string, keyNames: readonly string[]): Promise<void> {
  const keys = keyNames.map((name) => `keys ->> ${sqlLiteral(name)}`).join(', ');
  await connection.run(`
    CREATE OR REPLACE TABLE ${sqlIdentifier(target)} AS
    SELECT new_image AS image, source FROM (
      SELECT * FROM ${sqlIdentifier(changes)} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${NEWEST_FIRST}) = 1
    ) WHERE event_name <> 'REMOVE'`);
}

/** A list attribute must be an array (or absent): anything else fails the run, as the job's FAILFAST reader does. */
async function requireArrays(connection: DuckDBConnection, table: string, attribute: string, what: string): Promise<void> {
  const [bad] = await readRows(
    connection,
    `SELECT source, json_type(image, ${sqlLiteral(`$.${attribute}`)}) AS type FROM ${sqlIdentifier(table)}
     WHERE coalesce(json_type(image, ${sqlLiteral(`$.${attribute}`)}), 'NULL') NOT IN ('ARRAY', 'NULL') LIMIT 1`,
  );
  if (bad !== undefined) throw new DynalakeError('BAD_INPUT', `${textOf(bad.source)}: ${what}.${attribute} is ${textOf(bad.type)}, not a list`);
}

/**
 * Over `user_campaign_changes` and `campaign_info_changes`: creates `progress_rows` (explode_progress
 * over latest_images). A user-campaign without progress keeps one row of null task fields
 * (explode_outer); a task its campaign does not list keeps its row with null deadline and reward.
 */
async function progressRows(connection: DuckDBConnection): Promise<CampaignProgressCounts> {
  await latestImages(connection, 'user_campaign_changes', 'user_campaigns', ['userID', 'campaignID']);
  await latestImages(connection, 'campaign_info_changes', 'campaigns', ['campaignID']);
  await requireArrays(connection, 'user_campaigns', 'progressDetails', 'user_Campaign');
  await requireArrays(connection, 'campaigns', 'campaignTasks', 'campaignInfo');

  const userWhat = "'user_Campaign ' || coalesce(image ->> 'userID', '?') || '/' || coalesce(image ->> 'campaignID', '?') || ' in ' || source || ': '";
  const campaignWhat = "'campaignInfo ' || coalesce(image ->> 'campaignID', '?') || ' in ' || source || ': '";
  const userField = (name: string) => `${userWhat} || ${sqlLiteral(name)}`;
  await connection.run(`
    CREATE OR REPLACE TABLE progress AS
    SELECT
      image ->> 'userID' AS user_id,
      image ->> 'campaignID' AS campaign_id,
      image ->> 'userCampaignProgressState' AS user_campaign_state,
      ${money("image ->> 'totalTaskRewardsEarned'", userField('totalTaskRewardsEarned'))} AS total_task_rewards_earned,
      task ->> 'taskID' AS task_id,
      task ->> 'userCampaignTaskProgressState' AS task_state,
      ${utcTimestamp("task ->> 'validatedAt'", userField('validatedAt'))} AS validated_at,
      task ->> 'validationFailureReason' AS validation_failure_reason,
      ${money("task ->> 'rewardEarned'", userField('rewardEarned'))} AS reward_earned,
      ${utcTimestamp("image ->> 'createdAt'", userField('createdAt'))} AS created_at,
      ${utcTimestamp("image ->> 'updatedAt'", userField('updatedAt'))} AS updated_at
    FROM (
      SELECT image, source, CAST(task AS JSON) AS task FROM (
        SELECT image, source, unnest(CASE WHEN len(tasks) = 0 THEN [NULL] ELSE tasks END) AS task
        FROM (SELECT image, source, coalesce(json_extract(image, '$.progressDetails[*]'), []) AS tasks FROM user_campaigns)))`);
  await connection.run(`
    CREATE OR REPLACE TABLE listed_tasks AS
    SELECT image ->> 'campaignID' AS campaign_id,
      task ->> 'taskID' AS task_id,
      ${utcTimestamp("task ->> 'taskDeadline'", `${campaignWhat} || 'taskDeadline'`)} AS task_deadline,
      ${money("task ->> 'rewardAmount'", `${campaignWhat} || 'rewardAmount'`)} AS reward_amount
    FROM (SELECT image, source, CAST(unnest(coalesce(json_extract(image, '$.campaignTasks[*]'), [])) AS JSON) AS task FROM campaigns)`);
  await connection.run(`
    CREATE OR REPLACE TABLE progress_rows AS
    SELECT ${selectColumns(COLUMNS)} FROM (
      SELECT p.user_id, p.campaign_id, c.image ->> 'title' AS campaign_title, p.user_campaign_state, p.total_task_rewards_earned,
        p.task_id, p.task_state, p.validated_at, p.validation_failure_reason, p.reward_earned, l.task_deadline, l.reward_amount,
        p.created_at, p.updated_at,
        -- The session time zone is UTC, so this is the UTC day of createdAt.
        strftime(p.created_at, '%Y-%m-%d') AS ${PARTITION}
      FROM progress p
      LEFT JOIN campaigns c ON c.image ->> 'campaignID' = p.campaign_id
      LEFT JOIN listed_tasks l ON l.campaign_id = p.campaign_id AND l.task_id = p.task_id)
    ORDER BY user_id, campaign_id, task_id NULLS FIRST`);
  // The day names a partition folder: a user-campaign without createdAt has no place in the table.
  const [dayless] = await readRows(connection, `SELECT user_id, campaign_id FROM progress_rows WHERE ${PARTITION} IS NULL LIMIT 1`);
  if (dayless !== undefined) throw new DynalakeError('BAD_INPUT', `user_Campaign ${textOf(dayless.user_id)}/${textOf(dayless.campaign_id)} has no createdAt: its created_day partition is unknown`);

  const [totals] = await readRows(
    connection,
    `SELECT (SELECT count(*) FROM user_campaign_changes) + (SELECT count(*) FROM campaign_info_changes) AS change_records,
            (SELECT count(*) FROM user_campaigns) AS user_campaigns, (SELECT count(*) FROM campaigns) AS campaigns,
            (SELECT count(*) FROM progress_rows) AS rows,
            (SELECT count(*) FROM progress p ANTI JOIN listed_tasks l ON l.campaign_id = p.campaign_id AND l.task_id = p.task_id
              WHERE p.task_id IS NOT NULL) AS orphan_tasks`,
  );
  const number = (name: string) => Number(totals?.[name] ?? 0);
  return { changeRecords: number('change_records'), userCampaigns: number('user_campaigns'), campaigns: number('campaigns'), rows: number('rows'), orphanTasks: number('orphan_tasks') };
}

/** The recompute on plain inputs (the golden test's entry): both tables' complete change histories. */
export async function campaignProgress(userCampaignChanges: readonly ChangeRecord[], campaignInfoChanges: readonly ChangeRecord[]): Promise<CampaignProgress> {
  return withDuckDB(async (connection) => {
    await createChangesTable(connection, 'user_campaign_changes', [{ source: 'user_Campaign changes', records: userCampaignChanges }]);
    await createChangesTable(connection, 'campaign_info_changes', [{ source: 'campaignInfo changes', records: campaignInfoChanges }]);
    const counts = await progressRows(connection);
    return { rows: await readRows(connection, 'SELECT * FROM progress_rows'), counts };
  });
}

/** What one run did. */
export interface CampaignProgressResult extends GlueTwinResult, CampaignProgressCounts {
  /** CDC objects read (both tables). */
  readonly changeObjects: number;
  /** Rows written (= rows). */
  readonly rowsWritten: number;
  readonly partitionsWritten: number;
  readonly parquetFiles: number;
  /** Objects of the previous table that are gone (the table is replaced whole). */
  readonly objectsDeleted: number;
}

/**
 * Runs campaign_progress locally. Arguments as the Glue job's: LANDING_BUCKET, LAKE_BUCKET,
 * USER_CAMPAIGN_CDC_PREFIX, CAMPAIGN_INFO_CDC_PREFIX, CURATED_PREFIX.
 */
export async function runCampaignProgress(context: GlueTwinContext, args: JobArguments): Promise<CampaignProgressResult> {
  const log = jobLogger(context, JOB);
  const { LANDING_BUCKET, LAKE_BUCKET, USER_CAMPAIGN_CDC_PREFIX, CAMPAIGN_INFO_CDC_PREFIX, CURATED_PREFIX } = requireArguments(JOB, args, [
    'LANDING_BUCKET',
    'LAKE_BUCKET',
    'USER_CAMPAIGN_CDC_PREFIX',
    'CAMPAIGN_INFO_CDC_PREFIX',
    'CURATED_PREFIX',
  ]);
  const table = folderPrefix(CURATED_PREFIX);
  const changeObjects = async (prefix: string) => (await listObjects(context.s3, LANDING_BUCKET, folderPrefix(prefix))).filter((object) => isChangeObject(object.key));

  const result = await withScratch(context, JOB, async (scratch) => {
    const userCampaignObjects = await changeObjects(USER_CAMPAIGN_CDC_PREFIX);
    const campaignInfoObjects = await changeObjects(CAMPAIGN_INFO_CDC_PREFIX);
    const out = join(scratch, 'out');
    const counts = await withDuckDB(async (connection) => {
      await createChangesTable(connection, 'user_campaign_changes', readChangeObjects(context.s3, LANDING_BUCKET, userCampaignObjects));
      await createChangesTable(connection, 'campaign_info_changes', readChangeObjects(context.s3, LANDING_BUCKET, campaignInfoObjects));
      const computed = await progressRows(connection);
      if (computed.rows > 0) {
        await copyPartitioned(connection, 'SELECT * FROM progress_rows', out, PARTITION);
      }
      return computed;
    }, { tempDirectory: join(scratch, 'duckdb') });
    const before = await listObjects(context.s3, LAKE_BUCKET, table);
    const written = counts.rows > 0 ? await uploadFolder(context.s3, LAKE_BUCKET, table, out) : [];
    // The whole table is replaced (the job's static overwrite): days that vanished go too.
    const kept = new Set(written);
    const stale = before.map((object) => object.key).filter((key) => !kept.has(key));
    await deleteKeys(context.s3, LAKE_BUCKET, stale);
    const partitions = new Set(written.map((key) => key.slice(table.length).split('/')[0]));
    return { counts, changeObjects: userCampaignObjects.length + campaignInfoObjects.length, parquetFiles: written.length, partitionsWritten: partitions.size, objectsDeleted: stale.length };
  });
  const { counts } = result;
  const summary =
    `${counted(result.changeObjects, 'change object')}, ${counted(counts.changeRecords, 'record')} → ${counted(counts.userCampaigns, 'user campaign')}, ${counted(counts.campaigns, 'campaign')}; ` +
    `wrote ${counted(counts.rows, 'row')} (${count(counts.orphanTasks)} on tasks their campaign does not list) in ${counted(result.partitionsWritten, 'partition')}, ${counted(result.parquetFiles, 'Parquet file')}; ` +
    `${counted(result.objectsDeleted, 'old object')} deleted`;
  log(summary);
  return { summary, ...counts, changeObjects: result.changeObjects, rowsWritten: counts.rows, partitionsWritten: result.partitionsWritten, parquetFiles: result.parquetFiles, objectsDeleted: result.objectsDeleted };
}
