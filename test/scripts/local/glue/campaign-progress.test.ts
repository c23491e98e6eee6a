import type { ChangeRecord } from '../../../../lambda/shared/cdc';
import { campaignProgress, runCampaignProgress } from '../../../../scripts/local/glue/campaign-progress';
import type { JsonRow } from '../../../../scripts/local/glue/duckdb';
import { CAMPAIGN_PROGRESS } from '../../../../scripts/local/lake-tables';
import { canonical, golden, putChangeObject, readLakeTable, twinContext, useTempDirs } from '../../../helpers/local-lake';
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

describe('runCampaignProgress (through a real s3rver)', () => {
  const s3 = useLocalS3();
  const tempDir = useTempDirs();

  it('recomputes the table from every CDC object of both tables and replaces it whole', async () => {
    const local = s3();
    const landing = await createBucket(local, 'landing');
    const lake = await createBucket(local, 'lake');
    const context = twinContext(local, tempDir);
    const args = {
      LANDING_BUCKET: landing,
      LAKE_BUCKET: lake,
      USER_CAMPAIGN_CDC_PREFIX: 'cdc/user_Campaign/',
      CAMPAIGN_INFO_CDC_PREFIX: 'cdc/campaignInfo',
      CURATED_PREFIX: 'curated/campaign_progress',
      'job-bookmark-option': 'job-bookmark-disable',
    };
    // The history split over several objects and days, the newest CMP-0001 change in the first.
    const half = Math.ceil(input.user_campaign_changes.length / 2);
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-01/a.jsonl.gz', input.user_campaign_changes.slice(0, half));
    await putChangeObject(local, landing, 'cdc/user_Campaign/dt=2024-05-02/b.jsonl.gz', input.user_campaign_changes.slice(half));
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-01/a.jsonl.gz', input.campaign_info_changes.slice(0, 2));
    await putChangeObject(local, landing, 'cdc/campaignInfo/dt=2024-05-02/b.jsonl.gz', input.campaign_info_changes.slice(2));
    // Left over from an earlier run, for a day no user joined on any more: the overwrite removes it.
    await putChangeObject(local, lake, 'curated/campaign_progress/created_day=2023-01-01/part-0.parquet', []);

    const result = await runCampaignProgress(context, args);
    expect(result).toMatchObject({ changeObjects: 4, changeRecords: 13, userCampaigns: 4, campaigns: 2, rowsWritten: 6, partitionsWritten: 4, parquetFiles: 4, objectsDeleted: 1 });
    const { rows, types } = await readLakeTable(local, lake, CAMPAIGN_PROGRESS);
    expect(canonical(rows)).toEqual(canonical(expected.rows));
    expect(types).toMatchObject({ total_task_rewards_earned: 'DECIMAL(12,2)', reward_amount: 'DECIMAL(12,2)', created_at: 'TIMESTAMP WITH TIME ZONE', task_deadline: 'TIMESTAMP WITH TIME ZONE' });
    expect(types).not.toHaveProperty('created_day');
    expect(await listKeys(local, lake)).toEqual(['2024-01-10', '2024-01-31', '2024-02-03', '2024-02-10'].map((day) => `curated/campaign_progress/created_day=${day}/part-0.parquet`));

    // A second run over the same history writes the same table.
    const again = await runCampaignProgress(context, args);
    expect(again).toMatchObject({ rowsWritten: 6, objectsDeleted: 0 });
    expect(canonical((await readLakeTable(local, lake, CAMPAIGN_PROGRESS)).rows)).toEqual(canonical(expected.rows));
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
    });
    expect(result).toMatchObject({ changeObjects: 0, rowsWritten: 0, parquetFiles: 0 });
    expect(await listKeys(local, lake)).toEqual([]);
  });
});
