import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { ChangeRecord } from '../../../../lambda/shared/cdc';
import { campaignProgress, runCampaignProgress } from '../../../../scripts/local/glue/campaign-progress';
import { type JsonRow, textOf } from '../../../../scripts/local/glue/duckdb';
import { CAMPAIGN_PROGRESS } from '../../../../scripts/local/lake-tables';
import { canonical, golden, putChangeObject, readLakeTable, twinContext, useTempDirs, writeLakeTable, publishedFigures } from '../../../helpers/local-lake';
import { createBucket, listKeys, useLocalS3 } from '../../../helpers/local-s3';

interface Input {
  readonly user_campaign_changes: ChangeRecord[];
  readonly campaign_info_changes: ChangeRecord[];
}

const { input, expected } = golden('campaign_progress') as { input: Input; expected: { rows: JsonRow[] } };

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

    // Nothing new: nothing read or written.
    const idle = await runCampaignProgress(context, { ...args, METRICS_NAMESPACE: 'shop-prod' });
    expect(idle).toMatchObject({ noop: true, changeObjects: 0, rowsWritten: 0 });
    expect(publishedFigures(idle.metrics, { namespace: 'shop-prod', service: 'campaign_progress', dataset: 'campaign_progress' })).toEqual({ ChangeObjectsMerged: 0, RowsRead: 0, RowsWritten: 0, PartitionsRewritten: 0, LakeFreshnessSeconds: 0 });

    // A campaign renamed: only the days of its users are rewritten, with the new title.
    const cmp1 = input.campaign_info_changes.filter((record) => record.keys.campaignID === 'CMP-0001' && record.newImage).at(-1);
    if (!cmp1?.newImage) throw new Error('the golden has CMP-0001');
    const latestCmp1 = input.campaign_info_changes.filter((record) => record.keys.campaignID === 'CMP-0001').reduce((a, b) => (BigInt(a.sequenceNumber) > BigInt(b.sequenceNumber) ? a : b));
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-03/c.jsonl.gz', [
      { ...latestCmp1, eventName: 'MODIFY', sequenceNumber: '5000', oldImage: latestCmp1.newImage, newImage: { ...latestCmp1.newImage, title: 'Renamed' } },
    ]);
    const cmp1Days = [...new Set(expected.rows.filter((row) => row.campaign_id === 'CMP-0001').map((row) => textOf(row.created_day)))].sort();
    const renamed = await runCampaignProgress(context, args);
    expect(renamed).toMatchObject({ changeObjects: 1, changeRecords: 1, userCampaigns: 0, partitionsRewritten: cmp1Days.length, partitionsDeleted: 0 });
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
});
