import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ChangeRecord, decodeChangeObject } from '../../../../lambda/shared/cdc';
import { campaignProgress, runCampaignProgress } from '../../../../scripts/local/glue/campaign-progress';
import { type JsonRow, textOf } from '../../../../scripts/local/glue/duckdb';
import { CAMPAIGN_PROGRESS } from '../../../../scripts/local/lake-tables';
import { canonical, golden, putChangeObject, readLakeTable, twinContext, useTempDirs, writeLakeTable, publishedFigures } from '../../../helpers/local-lake';
import { createBucket, getObjectBytes, listKeys, useLocalS3 } from '../../../helpers/local-s3';

interface Input {
  readonly user_campaign_changes: ChangeRecord[];
  readonly campaign_info_changes: ChangeRecord[];
}

const { input, expected } = golden('campaign_progress') as { input: Input; expected: { rows: JsonRow[] } };

/** The golden's first campaignInfo change: the INSERT of CMP-0001 "Spring Streak", tasks TASK-0001-01 and TASK-0001-02. */
const spring = input.campaign_info_changes[0] as ChangeRecord;
/** The golden's INSERT of CMP-0002. */
const cmp2 = input.campaign_info_changes.find((record) => record.keys.campaignID === 'CMP-0002') as ChangeRecord;

/** A user_Campaign item of CMP-0001 (unless `fields` say otherwise): one task in progress, joined at `createdAt`. */
function userItem(userID: string, createdAt: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    userID,
    campaignID: 'CMP-0001',
    progressDetails: [{ taskID: 'TASK-0001-01', userCampaignTaskProgressState: 'IN_PROGRESS', rewardEarned: 0 }],
    userCampaignProgressState: 'IN_PROGRESS',
    totalTaskRewardsEarned: 0,
    createdAt,
    updatedAt: createdAt,
    ...fields,
  };
}
const userKeys = (item: Record<string, unknown>) => ({ userID: item.userID, campaignID: item.campaignID });
const inserted = (item: Record<string, unknown>, sequenceNumber: string): ChangeRecord => ({ eventName: 'INSERT', keys: userKeys(item), newImage: item, oldImage: null, sequenceNumber, approximateCreationTime: 1714564800 });
const modified = (before: Record<string, unknown>, after: Record<string, unknown>, sequenceNumber: string): ChangeRecord => ({
  eventName: 'MODIFY',
  keys: userKeys(after),
  newImage: after,
  oldImage: before,
  sequenceNumber,
  approximateCreationTime: 1714564800,
});
const removed = (before: Record<string, unknown>, sequenceNumber: string): ChangeRecord => ({ eventName: 'REMOVE', keys: userKeys(before), newImage: null, oldImage: before, sequenceNumber, approximateCreationTime: 1714564800 });

describe('campaignProgress (the campaign_progress golden)', () => {
  it('gives every expected row, in order, with exact money and UTC times', async () => {
    const { rows } = await campaignProgress(input.user_campaign_changes, input.campaign_info_changes);
    expect(rows).toEqual(expected.rows);
  });

  it('counts the current items, the rows and the tasks their campaign does not list', async () => {
    const { counts } = await campaignProgress(input.user_campaign_changes, input.campaign_info_changes);
    // USR-000004 was removed; CMP-0003 was removed, so USR-000005's task is unlisted like TASK-0002-99.
    expect(counts).toEqual({ changeRecords: 13, userCampaigns: 4, campaigns: 2, rows: 6, orphanTasks: 2 });
  });

  it('refuses money it would have to round', async () => {
    const [first, ...rest] = input.user_campaign_changes;
    if (!first?.newImage) throw new Error('the golden starts with an insert');
    const changes = [{ ...first, newImage: { ...first.newImage, totalTaskRewardsEarned: 0.125 } }, ...rest];
    // The first insert is superseded by a later MODIFY: only the latest image is converted, as in the job.
    expect((await campaignProgress(changes, input.campaign_info_changes)).rows).toEqual((await campaignProgress(input.user_campaign_changes, input.campaign_info_changes)).rows);
    const latest = changes.map((record) => (record.sequenceNumber === '1100' && record.newImage ? { ...record, newImage: { ...record.newImage, totalTaskRewardsEarned: '0.125' } } : record));
    await expect(campaignProgress(latest, input.campaign_info_changes)).rejects.toThrow(/user_Campaign USR-000001\/CMP-0001 in .*: totalTaskRewardsEarned 0.125 does not fit DECIMAL\(12,2\) exactly/);
  });
});

describe('campaignProgress refuses what the PySpark job refuses (test/fixtures/etl/campaign_progress/refused.json)', () => {
  const refused = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'etl', 'campaign_progress', 'refused.json'), 'utf8')) as {
    cases: { case: string; user_campaign_changes: ChangeRecord[]; campaign_info_changes: ChangeRecord[]; error: string; who: string }[];
  }).cases;
  it.each(refused.map((refusal) => [refusal.case, refusal] as const))('refuses %s, naming the item, the field and the value', async (_case, refusal) => {
    const message = await campaignProgress(refusal.user_campaign_changes, refusal.campaign_info_changes).then(
      () => 'no error',
      (error: unknown) => (error as Error).message,
    );
    expect(message).toContain(refusal.error);
    expect(message).toContain(`${refusal.who} in `);
  });
});

describe('campaignProgress refuses what it cannot read or place, saying where it came from', () => {
  const alice = userItem('USR-000001', '2024-01-10T09:00:00Z');

  it('refuses a progressDetails that is not a list, naming the source and the JSON type it has', async () => {
    const listless = userItem('USR-000001', '2024-01-10T09:00:00Z', { progressDetails: 'TASK-0001-01' });
    await expect(campaignProgress([inserted(listless, '1')], [spring])).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'user_Campaign changes: user_Campaign.progressDetails is VARCHAR, not a list',
    });
  });

  it('refuses a campaignTasks that is not a list, naming the source and the JSON type it has', async () => {
    const taskless = { ...spring, newImage: { ...spring.newImage, campaignTasks: { taskID: 'TASK-0001-01' } } };
    await expect(campaignProgress([inserted(alice, '1')], [taskless])).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'campaignInfo changes: campaignInfo.campaignTasks is OBJECT, not a list',
    });
  });

  it.each([
    ['MODIFY', modified(alice, { ...alice, userCampaignProgressState: 'COMPLETED' }, '2')],
    ['REMOVE', removed(alice, '2')],
  ])('refuses a %s without its old image: the user partition it leaves is unknown', async (_event, change) => {
    await expect(campaignProgress([inserted(alice, '1'), { ...change, oldImage: null }], [spring])).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: "user_Campaign changes: a MODIFY/REMOVE change record has no old image: the stream must send NEW_AND_OLD_IMAGES to locate the user's partition",
    });
  });

  it('refuses a user-campaign without createdAt: it has no created_day partition', async () => {
    const { createdAt: _dropped, ...dayless } = alice;
    await expect(campaignProgress([inserted(dayless, '1')], [spring])).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'user_Campaign USR-000001/CMP-0001 has no createdAt: its created_day partition is unknown',
    });
  });

  it('refuses an updatedAt that is no time, naming the item, its source and the field', async () => {
    await expect(campaignProgress([inserted({ ...alice, updatedAt: 'later' }, '1')], [spring])).rejects.toThrow(
      'user_Campaign USR-000001/CMP-0001 in user_Campaign changes: updatedAt later is not an ISO-8601 time',
    );
  });

  it('names a refused campaign of the job state as coming from the state, not from the changes', async () => {
    const stored = { ...spring, newImage: { ...spring.newImage, campaignTasks: [{ taskID: 'TASK-0001-01', rewardAmount: '0.125', taskDeadline: '2024-02-01T00:00:00Z' }] } };
    await expect(campaignProgress([inserted(alice, '1')], [], [], [stored])).rejects.toThrow(
      'campaignInfo CMP-0001 in the campaigns of the job state: rewardAmount 0.125 does not fit DECIMAL(12,2) exactly',
    );
  });
});

describe('campaignProgress: one item per key, whatever the order of its key attributes', () => {
  it('takes a MODIFY whose keys list campaignID before userID for the item its INSERT created', async () => {
    const before = userItem('USR-000001', '2024-01-10T09:00:00Z');
    const after = userItem('USR-000001', '2024-01-10T09:00:00Z', { userCampaignProgressState: 'COMPLETED', updatedAt: '2024-01-12T10:30:00Z' });
    const reordered = { ...modified(before, after, '2'), keys: { campaignID: 'CMP-0001', userID: 'USR-000001' } };
    const { rows, counts } = await campaignProgress([inserted(before, '1'), reordered], [spring]);
    expect(rows.map((row) => [row.user_id, row.user_campaign_state, row.updated_at])).toEqual([['USR-000001', 'COMPLETED', '2024-01-12T10:30:00']]);
    expect(counts).toMatchObject({ userCampaigns: 1, rows: 1 });
  });
});

describe('campaignProgress merges a batch into the current rows', () => {
  it("replaces a changed user's rows of a day and keeps the other users' rows of that day, their campaign looked up again", async () => {
    const alice = userItem('USR-000001', '2024-01-10T09:00:00Z');
    const bob = userItem('USR-000002', '2024-01-10T11:00:00Z');
    const { rows: current } = await campaignProgress([inserted(alice, '1'), inserted(bob, '2')], [spring]);
    const done = { ...alice, userCampaignProgressState: 'COMPLETED', updatedAt: '2024-01-12T10:30:00Z' };
    const renamed = { ...spring, eventName: 'MODIFY' as const, sequenceNumber: '150', oldImage: spring.newImage, newImage: { ...spring.newImage, title: 'Renamed' } };
    const { rows, days, counts } = await campaignProgress([modified(alice, done, '3')], [], current, [renamed]);
    expect(days).toEqual(['2024-01-10']);
    expect(rows.map((row) => [row.user_id, row.user_campaign_state, row.campaign_title, row.reward_amount])).toEqual([
      ['USR-000001', 'COMPLETED', 'Renamed', '12.50'],
      ['USR-000002', 'IN_PROGRESS', 'Renamed', '12.50'],
    ]);
    // The state's campaigns are no change records of the batch.
    expect(counts).toEqual({ changeRecords: 1, userCampaigns: 1, campaigns: 1, rows: 2, orphanTasks: 0 });
  });
});

describe('runCampaignProgress (through a real s3rver)', () => {
  const s3 = useLocalS3();
  const tempDir = useTempDirs();

  const argsOf = (landing: string, lake: string) => ({
    LANDING_BUCKET: landing,
    LAKE_BUCKET: lake,
    USER_CAMPAIGN_CDC_PREFIX: 'cdc/user_Campaign/',
    CAMPAIGN_INFO_CDC_PREFIX: 'cdc/campaignInfo',
    CURATED_PREFIX: 'curated/campaign_progress',
    STATE_PREFIX: 'state/campaign_progress/',
  });
  const partitionKeys = (days: readonly string[]) => days.map((day) => `curated/campaign_progress/created_day=${day}/part-0.parquet`);

  it('merges only new change objects, rewrites only the partitions they touch, and keeps the campaigns in its state', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    const args = argsOf(landing, lake);
    // The history split over several objects and days, the newest CMP-0001 change in the first.
    const half = Math.ceil(input.user_campaign_changes.length / 2);
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', input.user_campaign_changes.slice(0, half));
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-02/b.jsonl.gz', input.user_campaign_changes.slice(half));
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', input.campaign_info_changes.slice(0, 2));
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-02/b.jsonl.gz', input.campaign_info_changes.slice(2));
    // A partition no change touches is left as it is.
    const [sample] = expected.rows;
    if (!sample) throw new Error('the golden has rows');
    await writeLakeTable(local, lake, CAMPAIGN_PROGRESS, [{ ...sample, user_id: 'USR-000099', campaign_id: 'CMP-0099', created_at: '2023-01-01T10:00:00', created_day: '2023-01-01' }]);

    const result = await runCampaignProgress(context, args);
    // 2024-02-04: USR-000004's day, touched by its REMOVE and left empty.
    expect(result).toMatchObject({ noop: false, changeObjects: 4, changeRecords: 13, userCampaigns: 4, campaigns: 2, rowsWritten: 6, partitionsRewritten: 5, partitionsDeleted: 1, parquetFiles: 4, objectsDeleted: 0 });
    // What the job would publish: the 2023 partition is neither read nor written; the freshness is the newest new change's age.
    const { LakeFreshnessSeconds: freshness, ...counts } = publishedFigures(result.metrics, { namespace: 'dynalake', service: 'campaign_progress', dataset: 'campaign_progress' });
    expect(counts).toEqual({ ChangeObjectsMerged: 4, RowsRead: 0, RowsWritten: 6, PartitionsRewritten: 5 });
    const newest = Math.max(...[...input.user_campaign_changes, ...input.campaign_info_changes].map((record) => record.approximateCreationTime));
    expect(freshness).toBeGreaterThan(Date.now() / 1000 - newest - 120);
    expect(freshness).toBeLessThanOrEqual(Date.now() / 1000 - newest);
    const table = await readLakeTable(local, lake, CAMPAIGN_PROGRESS);
    const types = table.types;
    const of2024 = (rows: readonly JsonRow[]) => rows.filter((row) => textOf(row.created_day).startsWith('2024'));
    expect(canonical(of2024(table.rows))).toEqual(canonical(expected.rows));
    expect(table.rows.filter((row) => row.created_day === '2023-01-01').map((row) => row.user_id)).toEqual(['USR-000099']);
    expect(types).toMatchObject({ total_task_rewards_earned: 'DECIMAL(12,2)', reward_amount: 'DECIMAL(12,2)', created_at: 'TIMESTAMP WITH TIME ZONE', task_deadline: 'TIMESTAMP WITH TIME ZONE' });
    expect(types).not.toHaveProperty('created_day');
    const written = ['2024-01-10', '2024-01-31', '2024-02-03', '2024-02-10'];
    expect(await listKeys(local, lake)).toEqual([...partitionKeys(['2023-01-01', ...written]), 'state/campaign_progress/campaign_info.jsonl.gz', 'state/campaign_progress/merged.json']);
    // The state keeps the live campaigns only: CMP-0003 was removed.
    const stateCampaigns = decodeChangeObject(await getObjectBytes(local, lake, 'state/campaign_progress/campaign_info.jsonl.gz'));
    expect(stateCampaigns.map((record) => [record.keys.campaignID, record.eventName, record.newImage?.title])).toEqual([
      ['CMP-0001', 'MODIFY', 'Spring Streak Plus'],
      ['CMP-0002', 'INSERT', 'Winter Quest'],
    ]);
    // What npm start prints for the run.
    const summary =
      '4 change objects, 13 records → 4 user campaigns changed, 2 campaigns; 5 partitions rewritten (1 left empty, deleted): ' +
      'wrote 6 rows (2 on tasks their campaign does not list), 4 Parquet files; 0 old objects deleted';
    expect(result.summary).toBe(summary);
    expect(context.lines).toEqual([`campaign_progress: ${summary}`]);

    // Nothing new: nothing read or written.
    const idle = await runCampaignProgress(context, { ...args, METRICS_NAMESPACE: 'shop-prod' });
    expect(idle).toMatchObject({ noop: true, changeObjects: 0, rowsWritten: 0, summary: 'no new change objects since the last run: nothing to do' });
    expect(publishedFigures(idle.metrics, { namespace: 'shop-prod', service: 'campaign_progress', dataset: 'campaign_progress' })).toEqual({ ChangeObjectsMerged: 0, RowsRead: 0, RowsWritten: 0, PartitionsRewritten: 0, LakeFreshnessSeconds: 0 });

    // A campaign renamed: only the days of its users are rewritten, with the new title.
    const cmp1 = input.campaign_info_changes.filter((record) => record.keys.campaignID === 'CMP-0001' && record.newImage).at(-1);
    if (!cmp1?.newImage) throw new Error('the golden has CMP-0001');
    const latestCmp1 = input.campaign_info_changes.filter((record) => record.keys.campaignID === 'CMP-0001').reduce((a, b) => (BigInt(a.sequenceNumber) > BigInt(b.sequenceNumber) ? a : b));
    // Renamed twice, an hour apart: the later name stays, and the freshness is the later change's age.
    const renamedAt = 1714694400;
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-03/c.jsonl.gz', [
      { ...latestCmp1, eventName: 'MODIFY', sequenceNumber: '4999', approximateCreationTime: renamedAt - 3600, oldImage: latestCmp1.newImage, newImage: { ...latestCmp1.newImage, title: 'Renamed once' } },
      { ...latestCmp1, eventName: 'MODIFY', sequenceNumber: '5000', approximateCreationTime: renamedAt, oldImage: latestCmp1.newImage, newImage: { ...latestCmp1.newImage, title: 'Renamed' } },
    ]);
    const cmp1Days = [...new Set(expected.rows.filter((row) => row.campaign_id === 'CMP-0001').map((row) => textOf(row.created_day)))].sort();
    const renamed = await runCampaignProgress(context, args);
    expect(renamed).toMatchObject({ changeObjects: 1, changeRecords: 2, userCampaigns: 0, partitionsRewritten: cmp1Days.length, partitionsDeleted: 0 });
    // No user change in this run: the campaigns' own times make the freshness.
    expect(publishedFigures(renamed.metrics, { namespace: 'dynalake', service: 'campaign_progress', dataset: 'campaign_progress' }).LakeFreshnessSeconds).toBeCloseTo(Date.now() / 1000 - renamedAt, -2);
    // The rewritten days' rows, read and written again with the new title.
    const cmp1DayRows = expected.rows.filter((row) => cmp1Days.includes(textOf(row.created_day))).length;
    expect(publishedFigures(renamed.metrics, { namespace: 'dynalake', service: 'campaign_progress', dataset: 'campaign_progress' })).toMatchObject({ RowsRead: cmp1DayRows, RowsWritten: cmp1DayRows, PartitionsRewritten: cmp1Days.length });
    expect(canonical(of2024((await readLakeTable(local, lake, CAMPAIGN_PROGRESS)).rows))).toEqual(
      canonical(expected.rows.map((row) => (row.campaign_id === 'CMP-0001' ? { ...row, campaign_title: 'Renamed' } : row))),
    );

    // A user joins CMP-0001 later: the campaigns come from the job state (cdc/ may have expired).
    for (const key of ['cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', 'cdc/campaignInfo/dt=2024-05-02/b.jsonl.gz', 'cdc/campaignInfo/dt=2024-05-03/c.jsonl.gz']) {
      await local.client.send(new DeleteObjectCommand({ Bucket: landing, Key: key }));
    }
    const joined = { userID: 'USR-000009', campaignID: 'CMP-0001', progressDetails: [{ taskID: 'TASK-0001-01', userCampaignTaskProgressState: 'IN_PROGRESS', rewardEarned: 0 }], userCampaignProgressState: 'IN_PROGRESS', totalTaskRewardsEarned: 0, createdAt: '2024-03-01T09:00:00Z', updatedAt: '2024-03-01T09:00:00Z' };
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-04/d.jsonl.gz', [{ eventName: 'INSERT', keys: { userID: 'USR-000009', campaignID: 'CMP-0001' }, sequenceNumber: '6000', approximateCreationTime: 1714780800, newImage: joined, oldImage: null }]);
    const later = await runCampaignProgress(context, args);
    expect(later).toMatchObject({ changeObjects: 1, userCampaigns: 1, rowsWritten: 1, partitionsRewritten: 1 });
    expect(publishedFigures(later.metrics, { namespace: 'dynalake', service: 'campaign_progress', dataset: 'campaign_progress' }).LakeFreshnessSeconds).toBeCloseTo(Date.now() / 1000 - 1714780800, -2);
    const [newRow] = (await readLakeTable(local, lake, CAMPAIGN_PROGRESS)).rows.filter((row) => row.created_day === '2024-03-01');
    expect(newRow).toMatchObject({ user_id: 'USR-000009', campaign_title: 'Renamed', task_id: 'TASK-0001-01', reward_amount: expect.stringMatching(/^\d+\.\d{2}$/) as unknown });
  });

  it('writes an empty table when there is no change yet', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const result = await runCampaignProgress(twinContext(local, tempDir), {
      LANDING_BUCKET: landing,
      LAKE_BUCKET: lake,
      USER_CAMPAIGN_CDC_PREFIX: 'cdc/user_Campaign/',
      CAMPAIGN_INFO_CDC_PREFIX: 'cdc/campaignInfo/',
      CURATED_PREFIX: 'curated/campaign_progress/',
      STATE_PREFIX: 'state/campaign_progress/',
    });
    expect(result).toMatchObject({ noop: true, changeObjects: 0, rowsWritten: 0, parquetFiles: 0 });
    expect(await listKeys(local, lake)).toEqual([]);
  });

  /** `context` with an S3 client that notes the key of every object it gets under `prefix`. */
  const notingReads = <T extends { readonly s3: S3Client }>(context: T, prefix: string): { context: T; reads: string[] } => {
    const reads: string[] = [];
    const send = (command: unknown): unknown => {
      if (command instanceof GetObjectCommand && command.input.Key?.startsWith(prefix)) reads.push(command.input.Key);
      return context.s3.send(command as GetObjectCommand);
    };
    const s3 = new Proxy(context.s3, { get: (target, property): unknown => (property === 'send' ? send : Reflect.get(target, property)) });
    return { context: { ...context, s3 }, reads };
  };

  /** Puts an object that is no row of the table (a damaged file, a marker, a checksum). */
  const putJunk = async (bucket: string, key: string) => {
    await s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'not a Parquet file' }));
  };
  const tableRows = async (lake: string) =>
    (await readLakeTable(s3(), lake, CAMPAIGN_PROGRESS)).rows
      .sort((a, b) => `${textOf(a.created_day)} ${textOf(a.user_id)}`.localeCompare(`${textOf(b.created_day)} ${textOf(b.user_id)}`))
      .map((row) => [row.created_day, row.user_id, row.campaign_title, row.user_campaign_state]);

  it('on a user change, reads and rewrites only its days: keeps the other users of a day, empties a day it leaves and deletes what the days held', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    const args = argsOf(landing, lake);
    const alice = userItem('USR-000001', '2024-01-10T09:00:00Z');
    const bob = userItem('USR-000002', '2024-01-10T11:00:00Z');
    const carol = userItem('USR-000003', '2024-01-20T09:00:00Z');
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', [spring]);
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', [inserted(alice, '1'), inserted(bob, '2'), inserted(carol, '3')]);
    await runCampaignProgress(context, args);
    // A damaged file in a day no change touches: reading it would fail the run. A Hadoop checksum
    // next to a file the run rewrites, and a marker at the table's root, outside every partition.
    await putJunk(lake, 'curated/campaign_progress/created_day=2023-06-01/part-0.parquet');
    await putJunk(lake, 'curated/campaign_progress/created_day=2024-01-10/.part-0.parquet.crc');
    await putJunk(lake, 'curated/campaign_progress/_SUCCESS');

    // Alice completes her campaign, Carol leaves it; a campaignInfo object without records changes no campaign.
    const done = userItem('USR-000001', '2024-01-10T09:00:00Z', { userCampaignProgressState: 'COMPLETED', updatedAt: '2024-01-12T10:30:00Z' });
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-02/b.jsonl.gz', [modified(alice, done, '4'), removed(carol, '5')]);
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-02/b.jsonl.gz', []);
    context.lines.splice(0);
    const noted = notingReads(context, 'curated/');
    const result = await runCampaignProgress(noted.context, args);
    // Read: the files of the two days it rewrites, each once.
    expect(noted.reads.sort()).toEqual(partitionKeys(['2024-01-10', '2024-01-20']));

    expect(result).toMatchObject({ changeObjects: 2, changeRecords: 2, userCampaigns: 1, campaigns: 1, rowsWritten: 2, partitionsRewritten: 2, partitionsDeleted: 1, parquetFiles: 1, objectsDeleted: 2 });
    const summary =
      '2 change objects, 2 records → 1 user campaign changed, 1 campaign; 2 partitions rewritten (1 left empty, deleted): ' +
      'wrote 2 rows (0 on tasks their campaign does not list), 1 Parquet file; 2 old objects deleted';
    expect(result.summary).toBe(summary);
    expect(context.lines).toEqual([`campaign_progress: ${summary}`]);
    // Read: the three rows of 2024-01-10 and 2024-01-20, nothing of 2023-06-01.
    expect(publishedFigures(result.metrics, { namespace: 'dynalake', service: 'campaign_progress', dataset: 'campaign_progress' })).toMatchObject({
      ChangeObjectsMerged: 2,
      RowsRead: 3,
      RowsWritten: 2,
      PartitionsRewritten: 2,
    });
    // 2024-01-10's file is replaced under the same key; its checksum and 2024-01-20's file are gone; the rest is untouched.
    expect(await listKeys(local, lake, 'curated/')).toEqual([
      'curated/campaign_progress/_SUCCESS',
      'curated/campaign_progress/created_day=2023-06-01/part-0.parquet',
      'curated/campaign_progress/created_day=2024-01-10/part-0.parquet',
    ]);
    await local.client.send(new DeleteObjectCommand({ Bucket: lake, Key: 'curated/campaign_progress/created_day=2023-06-01/part-0.parquet' }));
    expect(await tableRows(lake)).toEqual([
      ['2024-01-10', 'USR-000001', 'Spring Streak', 'COMPLETED'],
      ['2024-01-10', 'USR-000002', 'Spring Streak', 'IN_PROGRESS'],
    ]);
  });

  it('on a campaign change, rewrites the days of its users from every partition, and reads nothing outside the partitions', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    const args = argsOf(landing, lake);
    const alice = userItem('USR-000001', '2024-01-10T09:00:00Z');
    const bob = userItem('USR-000002', '2024-01-31T09:00:00Z');
    const erin = userItem('USR-000005', '2024-02-03T09:00:00Z', { campaignID: 'CMP-0002', progressDetails: [] });
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', [spring, cmp2]);
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', [inserted(alice, '1'), inserted(bob, '2'), inserted(erin, '3')]);
    await runCampaignProgress(context, args);
    // Outside the partitions: a marker, and a copy of a partition kept in a sub-folder of the table.
    await putJunk(lake, 'curated/campaign_progress/_SUCCESS');
    const [aliceRow] = (await readLakeTable(local, lake, CAMPAIGN_PROGRESS)).rows;
    if (!aliceRow) throw new Error('the first run wrote Alice');
    await writeLakeTable(local, lake, { ...CAMPAIGN_PROGRESS, prefix: 'curated/campaign_progress/_backup/' }, [{ ...aliceRow, user_id: 'USR-000077' }]);

    // CMP-0001 renamed, with a campaignInfo object without records in the same run.
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-02/b.jsonl.gz', [{ ...spring, eventName: 'MODIFY', sequenceNumber: '150', oldImage: spring.newImage, newImage: { ...spring.newImage, title: 'Renamed' } }]);
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-02/c.jsonl.gz', []);
    const noted = notingReads(context, 'curated/');
    const result = await runCampaignProgress(noted.context, args);
    // Read: every partition's file (which days hold CMP-0001's users is in them), each once; not the copy.
    expect(noted.reads.sort()).toEqual(partitionKeys(['2024-01-10', '2024-01-31', '2024-02-03']));

    expect(result).toMatchObject({ changeObjects: 2, changeRecords: 1, userCampaigns: 0, campaigns: 2, rowsWritten: 2, partitionsRewritten: 2, partitionsDeleted: 0, parquetFiles: 2, objectsDeleted: 0 });
    expect(await listKeys(local, lake, 'curated/')).toEqual([
      'curated/campaign_progress/_SUCCESS',
      'curated/campaign_progress/_backup/created_day=2024-01-10/part-0.parquet',
      ...partitionKeys(['2024-01-10', '2024-01-31', '2024-02-03']),
    ]);
    expect(await tableRows(lake)).toEqual([
      ['2024-01-10', 'USR-000001', 'Renamed', 'IN_PROGRESS'],
      ['2024-01-10', 'USR-000077', 'Spring Streak', 'IN_PROGRESS'], // the copy, as it was (readLakeTable reads the whole prefix)
      ['2024-01-31', 'USR-000002', 'Renamed', 'IN_PROGRESS'],
      ['2024-02-03', 'USR-000005', 'Winter Quest', 'IN_PROGRESS'],
    ]);
    const state = decodeChangeObject(await getObjectBytes(local, lake, 'state/campaign_progress/campaign_info.jsonl.gz'));
    expect(state.map((record) => [record.keys.campaignID, record.newImage?.title])).toEqual([
      ['CMP-0001', 'Renamed'],
      ['CMP-0002', 'Winter Quest'],
    ]);
  });

  it('leaves no Parquet file when its change removes the last user-campaign, and keeps no campaigns state before a campaign arrives', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    const args = argsOf(landing, lake);
    const alice = userItem('USR-000001', '2024-01-10T09:00:00Z');
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', [inserted(alice, '1')]);
    // Her campaign is unknown yet: a row without title, deadline and reward.
    expect(await runCampaignProgress(context, args)).toMatchObject({ rowsWritten: 1, orphanTasks: 1, campaigns: 0, parquetFiles: 1 });
    expect(await listKeys(local, lake)).toEqual([...partitionKeys(['2024-01-10']), 'state/campaign_progress/merged.json']);

    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-02/b.jsonl.gz', [removed(alice, '2')]);
    const result = await runCampaignProgress(context, args);
    expect(result).toMatchObject({ rowsWritten: 0, partitionsRewritten: 1, partitionsDeleted: 1, parquetFiles: 0, objectsDeleted: 1 });
    expect(result.summary).toBe(
      '1 change object, 1 record → 0 user campaigns changed, 0 campaigns; 1 partition rewritten (1 left empty, deleted): wrote 0 rows (0 on tasks their campaign does not list), 0 Parquet files; 1 old object deleted',
    );
    expect(await listKeys(local, lake)).toEqual(['state/campaign_progress/merged.json']);
  });

  it('on a campaign none of whose users has arrived yet, reads and rewrites no partition, and keeps the campaign in its state', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', [spring]);
    const result = await runCampaignProgress(context, argsOf(landing, lake));
    expect(result).toMatchObject({ noop: false, changeObjects: 1, changeRecords: 1, userCampaigns: 0, campaigns: 1, rowsWritten: 0, partitionsRewritten: 0, parquetFiles: 0 });
    const { LakeFreshnessSeconds: freshness, ...counts } = publishedFigures(result.metrics, { namespace: 'dynalake', service: 'campaign_progress', dataset: 'campaign_progress' });
    expect(counts).toEqual({ ChangeObjectsMerged: 1, RowsRead: 0, RowsWritten: 0, PartitionsRewritten: 0 });
    expect(freshness).toBeCloseTo(Date.now() / 1000 - spring.approximateCreationTime, -2);
    expect(await listKeys(local, lake)).toEqual(['state/campaign_progress/campaign_info.jsonl.gz', 'state/campaign_progress/merged.json']);
  });

  it('takes the campaigns state from its exact key only, and names it when it is damaged', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    const args = argsOf(landing, lake);
    // A key that only begins with the state object's: not the campaigns (there are none yet).
    await putJunk(lake, 'state/campaign_progress/campaign_info.jsonl.gz.bak');
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', [inserted(userItem('USR-000001', '2024-01-10T09:00:00Z'), '1')]);
    expect(await runCampaignProgress(context, args)).toMatchObject({ rowsWritten: 1, campaigns: 0 });

    await putJunk(lake, 'state/campaign_progress/campaign_info.jsonl.gz');
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-02/b.jsonl.gz', [inserted(userItem('USR-000002', '2024-01-10T11:00:00Z'), '2')]);
    await expect(runCampaignProgress(context, args)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(new RegExp(`^s3://${lake}/state/campaign_progress/campaign_info\\.jsonl\\.gz: not gzip \\(`)) as unknown,
    });
  });
});
