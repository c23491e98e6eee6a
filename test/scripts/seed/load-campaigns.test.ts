import { type BatchWriteItemCommand, type BatchWriteItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type CampaignInfoItem, generateCampaignInfo, generateUserCampaigns, summarizeCampaignData, type UserCampaignItem } from '../../../lambda/shared/campaigns';
import type { BatchWriteClient } from '../../../scripts/seed/batch-writer';
import { loadCampaigns } from '../../../scripts/seed/load-campaigns';
import { createTable, scanAll, useLocalDynamoDB } from '../../helpers/local-dynamodb';

const local = useLocalDynamoDB();

/** The real client, counting BatchWriteItem calls per table and the most calls in flight at once. */
function countingClient(inner: BatchWriteClient) {
  const stats = { calls: new Map<string, number>(), inFlight: 0, maxInFlight: 0 };
  const client: BatchWriteClient = {
    async send(command: BatchWriteItemCommand): Promise<BatchWriteItemCommandOutput> {
      for (const table of Object.keys(command.input.RequestItems ?? {})) stats.calls.set(table, (stats.calls.get(table) ?? 0) + 1);
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        return await inner.send(command);
      } finally {
        stats.inFlight -= 1;
      }
    },
  };
  return { client, stats };
}

async function tables() {
  return { campaignInfoTable: await createTable(local(), 'campaignInfo'), userCampaignTable: await createTable(local(), 'userCampaign') };
}

const byUserAndCampaign = (a: UserCampaignItem, b: UserCampaignItem) => `${a.userID}/${a.campaignID}`.localeCompare(`${b.userID}/${b.campaignID}`);
const byCampaign = (a: CampaignInfoItem, b: CampaignInfoItem) => a.campaignID.localeCompare(b.campaignID);

async function contents(names: { campaignInfoTable: string; userCampaignTable: string }) {
  const campaigns = (await scanAll(local(), names.campaignInfoTable)).map((item) => unmarshall(item) as CampaignInfoItem).sort(byCampaign);
  const userCampaigns = (await scanAll(local(), names.userCampaignTable)).map((item) => unmarshall(item) as UserCampaignItem).sort(byUserAndCampaign);
  return { campaigns, userCampaigns };
}

describe('loadCampaigns', () => {
  it('writes exactly what the generator makes for the users and seed, 25 items a request, and sums it up', async () => {
    const names = await tables();
    const { client, stats } = countingClient(local().client);
    const before = Date.now();
    const summary = await loadCampaigns({ client, ...names, users: 100, seed: 7 });
    const after = Date.now();

    const expectedCampaigns = generateCampaignInfo({ users: 100, seed: 7 });
    const expectedUserCampaigns = [...generateUserCampaigns({ users: 100, seed: 7 })];
    // The seed matters: seed 1 makes other progress.
    expect([...generateUserCampaigns({ users: 100, seed: 1 })]).not.toEqual(expectedUserCampaigns);

    const { campaigns, userCampaigns } = await contents(names);
    expect(campaigns).toEqual([...expectedCampaigns].sort(byCampaign));
    expect(userCampaigns).toEqual([...expectedUserCampaigns].sort(byUserAndCampaign));
    // One request per 25 items of each table: no batch was cut short by a repeated key.
    expect(stats.calls).toEqual(
      new Map([
        [names.campaignInfoTable, Math.ceil(expectedCampaigns.length / 25)],
        [names.userCampaignTable, Math.ceil(expectedUserCampaigns.length / 25)],
      ]),
    );
    expect(summary).toEqual({
      ...summarizeCampaignData(expectedCampaigns, expectedUserCampaigns),
      written: expectedCampaigns.length + expectedUserCampaigns.length,
      elapsedMs: summary.elapsedMs,
    });
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(summary.elapsedMs).toBeLessThanOrEqual(after - before);
  });

  it('uses seed 1 by default, and a second run changes nothing', async () => {
    const names = await tables();
    await loadCampaigns({ client: local().client, ...names, users: 30 });
    const first = await contents(names);
    expect(first.userCampaigns).toEqual([...generateUserCampaigns({ users: 30, seed: 1 })].sort(byUserAndCampaign));
    const again = await loadCampaigns({ client: local().client, ...names, users: 30 });
    expect(await contents(names)).toEqual(first);
    expect(again.written).toBe(first.campaigns.length + first.userCampaigns.length);
  });

  it('keeps to the concurrency given', async () => {
    const names = await tables();
    const { client, stats } = countingClient(local().client);
    await loadCampaigns({ client, ...names, users: 100, concurrency: 1 });
    expect(stats.maxInFlight).toBe(1);
  });

  it('has at most 16 requests in flight by default', async () => {
    const names = await tables();
    const { client, stats } = countingClient(local().client);
    await loadCampaigns({ client, ...names, users: 500 });
    // Over 16 batches of user campaigns are sent, so the limit is what holds them back.
    expect(stats.calls.get(names.userCampaignTable)).toBeGreaterThan(16);
    expect(stats.maxInFlight).toBeGreaterThan(1);
    expect(stats.maxInFlight).toBeLessThanOrEqual(16);
  });
});
