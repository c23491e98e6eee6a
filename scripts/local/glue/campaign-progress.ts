import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type ChangeRecord, decodeChangeObject, encodeChangeObject, latestChanges } from '../../../lambda/shared/cdc';
import { DynalakeError } from '../../../lambda/shared/errors';
import { CAMPAIGN_PROGRESS, queryColumns } from '../lake-tables';
import { createChangesTable, NEWEST_FIRST, notingNewestChange, readChangeObjects, type SourcedRecords } from './changes';
import { copyPartitioned, createTableFromParquet, createTableFromRows, exactDecimalSql, type JsonRow, readCount, readRows, selectColumns, sqlIdentifier, sqlLiteral, textOf, withDuckDB } from './duckdb';
import { count, counted, type GlueTwinContext, type GlueTwinResult, type JobArguments, jobLogger, jobMetrics, lakeFreshnessSeconds, metricsNamespaceArgument, requireArguments, withScratch } from './job';
import { deleteKeys, downloadObjects, folderPrefix, getObjectBytesIfAny, listObjects, uploadFolder } from './s3-files';
import { type ChangeSource, pendingChanges } from './state';

/**
 * The local twin of glue-scripts/campaign_progress.py: one curated row per (user, campaign, task)
 * of the current user_Campaign and campaignInfo items, partitioned by the UTC day the user joined
 * (created_day). Incremental, as the job: a run merges the change objects its state object does
 * not list yet and rewrites only the partitions they touch: the days of the changed users (both
 * images), and, when a campaign changed, the days of its users. Users it did not change keep
 * their rows, with the campaign's title, deadlines and rewards looked up again. The current
 * campaigns live in the job's state (`campaign_info.jsonl.gz`, their latest change records), since
 * a user's change needs its whole campaign and cdc/ expires. No new change object: nothing is read
 * or written.
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

/** Where the campaigns of the state come from, in errors and in the changes table. */
const SNAPSHOT_SOURCE = 'the campaigns of the job state';

/**
 * The created_day partitions a batch touches (`touched`): the UTC day of createdAt in every user
 * change's new and old image (a MODIFY may move a user to another day), and the days holding users
 * of a campaign the batch changed (from `current_days`: campaign_id, created_day of the table).
 */
async function touchedDays(connection: DuckDBConnection): Promise<string[]> {
  const userWhat = "'user_Campaign ' || coalesce(keys ->> 'userID', '?') || '/' || coalesce(keys ->> 'campaignID', '?') || ' in ' || source || ': createdAt'";
  const blind = await readRows(connection, "SELECT source FROM user_campaign_changes WHERE event_name <> 'INSERT' AND old_image IS NULL LIMIT 1");
  if (blind[0] !== undefined) {
    throw new DynalakeError('BAD_INPUT', `${textOf(blind[0].source)}: a MODIFY/REMOVE change record has no old image: the stream must send NEW_AND_OLD_IMAGES to locate the user's partition`);
  }
  await connection.run(`
    CREATE OR REPLACE TABLE touched AS
    SELECT DISTINCT day FROM (
      SELECT strftime(${utcTimestamp("new_image ->> 'createdAt'", userWhat)}, '%Y-%m-%d') AS day FROM user_campaign_changes
      UNION ALL SELECT strftime(${utcTimestamp("old_image ->> 'createdAt'", userWhat)}, '%Y-%m-%d') FROM user_campaign_changes
      UNION ALL SELECT ${PARTITION} FROM current_days
        WHERE campaign_id IN (SELECT keys ->> 'campaignID' FROM campaign_info_changes WHERE source <> ${sqlLiteral(SNAPSHOT_SOURCE)}))
    WHERE day IS NOT NULL`);
  return (await readRows(connection, 'SELECT day FROM touched ORDER BY day')).map((row) => textOf(row.day));
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
  // The rows of the rewritten partitions: the changed users' rows from their latest images, and
  // every other user's rows as they were, the campaign's title, deadline and reward looked up again.
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
      LEFT JOIN listed_tasks l ON l.campaign_id = p.campaign_id AND l.task_id = p.task_id
      UNION ALL
      SELECT k.user_id, k.campaign_id, c.image ->> 'title', k.user_campaign_state, k.total_task_rewards_earned,
        k.task_id, k.task_state, k.validated_at, k.validation_failure_reason, k.reward_earned, l.task_deadline, l.reward_amount,
        k.created_at, k.updated_at, k.${PARTITION}
      FROM current_rows k
      LEFT JOIN campaigns c ON c.image ->> 'campaignID' = k.campaign_id
      LEFT JOIN listed_tasks l ON l.campaign_id = k.campaign_id AND l.task_id = k.task_id
      -- Parenthesised: ->> binds more loosely than AND (a ->> 'x' = y AND b ->> 'z' = w casts b to BOOLEAN).
      WHERE k.${PARTITION} IN (SELECT day FROM touched)
        AND NOT EXISTS (SELECT 1 FROM user_campaign_changes u WHERE (u.keys ->> 'userID') = k.user_id AND (u.keys ->> 'campaignID') = k.campaign_id))
    ORDER BY user_id, campaign_id, task_id NULLS FIRST`);
  // The day names a partition folder: a user-campaign without createdAt has no place in the table.
  const [dayless] = await readRows(connection, `SELECT user_id, campaign_id FROM progress_rows WHERE ${PARTITION} IS NULL LIMIT 1`);
  if (dayless !== undefined) throw new DynalakeError('BAD_INPUT', `user_Campaign ${textOf(dayless.user_id)}/${textOf(dayless.campaign_id)} has no createdAt: its created_day partition is unknown`);

  const [totals] = await readRows(
    connection,
    `SELECT (SELECT count(*) FROM user_campaign_changes) + (SELECT count(*) FROM campaign_info_changes WHERE source <> ${sqlLiteral(SNAPSHOT_SOURCE)}) AS change_records,
            (SELECT count(*) FROM user_campaigns) AS user_campaigns, (SELECT count(*) FROM campaigns) AS campaigns,
            (SELECT count(*) FROM progress_rows) AS rows,
            (SELECT count(*) FROM progress_rows WHERE task_id IS NOT NULL AND task_deadline IS NULL AND reward_amount IS NULL
              AND NOT EXISTS (SELECT 1 FROM listed_tasks l WHERE l.campaign_id = progress_rows.campaign_id AND l.task_id = progress_rows.task_id)) AS orphan_tasks`,
  );
  const number = (name: string) => Number(totals?.[name] ?? 0);
  return { changeRecords: number('change_records'), userCampaigns: number('user_campaigns'), campaigns: number('campaigns'), rows: number('rows'), orphanTasks: number('orphan_tasks') };
}

/**
 * One merge on plain inputs (the golden tests' entry): a batch of user_Campaign and campaignInfo
 * change records into `current` (the table's rows; none on a first run), with the campaigns of the
 * job state. Returns the rewritten partitions' rows, sorted, and the counts.
 */
export async function campaignProgress(
  userCampaignChanges: readonly ChangeRecord[],
  campaignInfoChanges: readonly ChangeRecord[],
  current: readonly JsonRow[] = [],
  stateCampaigns: readonly ChangeRecord[] = [],
): Promise<CampaignProgress & { readonly days: string[] }> {
  return withDuckDB(async (connection) => {
    await createChangesTable(connection, 'user_campaign_changes', [{ source: 'user_Campaign changes', records: userCampaignChanges }]);
    await createChangesTable(connection, 'campaign_info_changes', [
      { source: SNAPSHOT_SOURCE, records: stateCampaigns },
      { source: 'campaignInfo changes', records: campaignInfoChanges },
    ]);
    await createTableFromRows(connection, 'current_rows', COLUMNS, current);
    await connection.run(`CREATE OR REPLACE TABLE current_days AS SELECT DISTINCT campaign_id, ${PARTITION} FROM current_rows`);
    const days = await touchedDays(connection);
    const counts = await progressRows(connection);
    return { rows: await readRows(connection, 'SELECT * FROM progress_rows'), counts, days };
  });
}

/** What one run did. */
export interface CampaignProgressResult extends GlueTwinResult, CampaignProgressCounts {
  /** True when no change object was new: nothing was read or written. */
  readonly noop: boolean;
  /** New CDC objects this run merged (both tables). */
  readonly changeObjects: number;
  /** Rows written (= rows). */
  readonly rowsWritten: number;
  /** Partitions rewritten (those left empty included). */
  readonly partitionsRewritten: number;
  /** Rewritten partitions left empty, whose objects were deleted. */
  readonly partitionsDeleted: number;
  readonly parquetFiles: number;
  /** Old objects of the rewritten partitions that are gone. */
  readonly objectsDeleted: number;
}

/** The campaigns of the job state: their latest change records, live ones only, in one CDC-format object. */
export const CAMPAIGNS_STATE_OBJECT = 'campaign_info.jsonl.gz';

/** The day of a curated object key (`<table>created_day=YYYY-MM-DD/...`). */
function partitionDayOf(table: string, key: string): string | undefined {
  return new RegExp(`^${PARTITION}=([^/]+)/`).exec(key.slice(table.length))?.[1];
}

/**
 * Runs campaign_progress locally. Arguments as the Glue job's: LANDING_BUCKET, LAKE_BUCKET,
 * USER_CAMPAIGN_CDC_PREFIX, CAMPAIGN_INFO_CDC_PREFIX, CURATED_PREFIX, STATE_PREFIX.
 */
export async function runCampaignProgress(context: GlueTwinContext, args: JobArguments): Promise<CampaignProgressResult> {
  const started = performance.now();
  const log = jobLogger(context, JOB);
  const publish = (figures: Parameters<typeof jobMetrics>[3]) => jobMetrics(metricsNamespaceArgument(args), JOB, JOB, { ...figures, RunDurationSeconds: Math.round(performance.now() - started) / 1000 });
  const { LANDING_BUCKET, LAKE_BUCKET, USER_CAMPAIGN_CDC_PREFIX, CAMPAIGN_INFO_CDC_PREFIX, CURATED_PREFIX, STATE_PREFIX } = requireArguments(JOB, args, [
    'LANDING_BUCKET',
    'LAKE_BUCKET',
    'USER_CAMPAIGN_CDC_PREFIX',
    'CAMPAIGN_INFO_CDC_PREFIX',
    'CURATED_PREFIX',
    'STATE_PREFIX',
  ]);
  const table = folderPrefix(CURATED_PREFIX);
  const statePrefix = folderPrefix(STATE_PREFIX);
  const campaignsKey = `${statePrefix}${CAMPAIGNS_STATE_OBJECT}`;
  const changes = await pendingChanges(context.s3, JOB, LANDING_BUCKET, LAKE_BUCKET, STATE_PREFIX, [USER_CAMPAIGN_CDC_PREFIX, CAMPAIGN_INFO_CDC_PREFIX]);
  const [users, campaigns] = changes.sources as [ChangeSource, ChangeSource];
  const saveState = changes.save;
  const changeObjects = users.fresh.length + campaigns.fresh.length;
  if (changeObjects === 0) {
    await saveState(); // objects expired from cdc/ leave the state
    const summary = 'no new change objects since the last run: nothing to do';
    log(summary);
    const metrics = publish({ ChangeObjectsMerged: 0, RowsRead: 0, RowsWritten: 0, PartitionsRewritten: 0, LakeFreshnessSeconds: 0 });
    return { summary, noop: true, changeObjects: 0, changeRecords: 0, userCampaigns: 0, campaigns: 0, rows: 0, orphanTasks: 0, rowsWritten: 0, partitionsRewritten: 0, partitionsDeleted: 0, parquetFiles: 0, objectsDeleted: 0, metrics };
  }

  const result = await withScratch(context, JOB, async (scratch) => {
    // The campaigns: those of the state, then the new changes (read later: a tie goes to them).
    const stateBytes = await getObjectBytesIfAny(context.s3, LAKE_BUCKET, campaignsKey);
    const stateCampaigns = stateBytes === undefined ? [] : decodeChangeObject(stateBytes, `s3://${LAKE_BUCKET}/${campaignsKey}`);
    const newCampaignRecords: SourcedRecords[] = [];
    for await (const batch of readChangeObjects(context.s3, LANDING_BUCKET, campaigns.fresh)) newCampaignRecords.push(batch);
    const tableObjects = (await listObjects(context.s3, LAKE_BUCKET, table)).filter((object) => partitionDayOf(table, object.key) !== undefined);
    const out = join(scratch, 'out');
    const userChanges = notingNewestChange(readChangeObjects(context.s3, LANDING_BUCKET, users.fresh));
    const merge = await withDuckDB(async (connection) => {
      await createChangesTable(connection, 'user_campaign_changes', userChanges.batches);
      await createChangesTable(connection, 'campaign_info_changes', [{ source: SNAPSHOT_SOURCE, records: stateCampaigns }, ...newCampaignRecords]);
      // Which days hold which campaigns: from the table itself, read whole only when a campaign changed.
      const anyCampaignChanged = newCampaignRecords.some((batch) => batch.records.length > 0);
      const readDays = async (days: ReadonlySet<string> | undefined) => {
        const objects = tableObjects.filter((object) => object.key.endsWith('.parquet') && (days === undefined || days.has(partitionDayOf(table, object.key) ?? '')));
        const files = await downloadObjects(context.s3, LAKE_BUCKET, objects, table, join(scratch, 'current'));
        await createTableFromParquet(connection, 'current_rows', files, COLUMNS, { partition: PARTITION });
      };
      if (anyCampaignChanged) {
        await readDays(undefined);
        await connection.run(`CREATE OR REPLACE TABLE current_days AS SELECT DISTINCT campaign_id, ${PARTITION} FROM current_rows`);
      } else {
        await connection.run(`CREATE OR REPLACE TABLE current_days (campaign_id VARCHAR, ${PARTITION} VARCHAR)`);
      }
      const days = await touchedDays(connection);
      if (!anyCampaignChanged) await readDays(new Set(days));
      const rowsRead = days.length === 0 ? 0 : await readCount(connection, `SELECT count(*) FROM current_rows WHERE ${PARTITION} IN (${days.map(sqlLiteral).join(', ')})`);
      const counts = await progressRows(connection);
      if (counts.rows > 0) await copyPartitioned(connection, 'SELECT * FROM progress_rows', out, PARTITION);
      const written = new Set((await readRows(connection, `SELECT DISTINCT ${PARTITION} AS day FROM progress_rows`)).map((row) => textOf(row.day)));
      return { counts, days, emptied: days.filter((day) => !written.has(day)), rowsRead };
    }, { tempDirectory: join(scratch, 'duckdb') });

    // New files first, then the old ones of the rewritten days go: a crash between leaves every row readable.
    const touched = new Set(merge.days);
    const written = merge.counts.rows > 0 ? await uploadFolder(context.s3, LAKE_BUCKET, table, out) : [];
    const kept = new Set(written);
    const stale = tableObjects.map((object) => object.key).filter((key) => touched.has(partitionDayOf(table, key) ?? '') && !kept.has(key));
    await deleteKeys(context.s3, LAKE_BUCKET, stale);
    if (newCampaignRecords.length > 0) {
      const live = [...latestChanges([...stateCampaigns, ...newCampaignRecords.flatMap((batch) => batch.records)]).values()].filter((record) => record.eventName !== 'REMOVE');
      await context.s3.send(new PutObjectCommand({ Bucket: LAKE_BUCKET, Key: campaignsKey, Body: encodeChangeObject(live) }));
    }
    // The newest change merged: of the new user_Campaign and campaignInfo objects (not the state's campaigns).
    const newest = [userChanges.newest(), ...newCampaignRecords.flatMap((batch) => batch.records.map((record) => record.approximateCreationTime))].reduce<number | undefined>(
      (latest, time) => (time === undefined ? latest : Math.max(latest ?? time, time)),
      undefined,
    );
    return { ...merge, parquetFiles: written.length, objectsDeleted: stale.length, newest };
  });
  // Only now that the partitions (and the campaigns) are in place: a crash before this merges the same objects again.
  await saveState();
  const { counts } = result;
  const summary =
    `${counted(changeObjects, 'change object')}, ${counted(counts.changeRecords, 'record')} → ${counted(counts.userCampaigns, 'user campaign')} changed, ${counted(counts.campaigns, 'campaign')}; ` +
    `${counted(result.days.length, 'partition')} rewritten (${count(result.emptied.length)} left empty, deleted): wrote ${counted(counts.rows, 'row')} (${count(counts.orphanTasks)} on tasks their campaign does not list), ${counted(result.parquetFiles, 'Parquet file')}; ` +
    `${counted(result.objectsDeleted, 'old object')} deleted`;
  log(summary);
  const metrics = publish({
    ChangeObjectsMerged: changeObjects,
    RowsRead: result.rowsRead,
    RowsWritten: counts.rows,
    PartitionsRewritten: result.days.length,
    LakeFreshnessSeconds: lakeFreshnessSeconds(result.newest, Date.now() / 1000),
  });
  return {
    summary,
    noop: false,
    metrics,
    ...counts,
    changeObjects,
    rowsWritten: counts.rows,
    partitionsRewritten: result.days.length,
    partitionsDeleted: result.emptied.length,
    parquetFiles: result.parquetFiles,
    objectsDeleted: result.objectsDeleted,
  };
}
