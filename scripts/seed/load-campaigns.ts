import { marshall } from '@aws-sdk/util-dynamodb';
import { generateCampaignInfo, generateUserCampaigns, summarizeCampaignData, type CampaignDataSummary } from '../../lambda/shared/campaigns';
import { type BatchWriteClient, BatchWriter } from './batch-writer';

/** Options of {@link loadCampaigns}. */
export interface LoadCampaignsOptions {
  readonly client: BatchWriteClient;
  readonly campaignInfoTable: string;
  readonly userCampaignTable: string;
  readonly users: number;
  /** @default 1 */
  readonly seed?: number;
  /** @default 16 */
  readonly concurrency?: number;
}

/** What a campaigns load wrote. */
export interface CampaignsLoadSummary extends CampaignDataSummary {
  readonly written: number;
  readonly elapsedMs: number;
}

/**
 * Writes generated campaigns (campaignInfo) and users' progress (user_Campaign). Deterministic:
 * the same users and seed write the same items, so a second run changes nothing.
 */
export async function loadCampaigns(options: LoadCampaignsOptions): Promise<CampaignsLoadSummary> {
  const started = Date.now();
  const data = { users: options.users, seed: options.seed ?? 1 };
  const concurrency = options.concurrency ?? 16;
  const campaigns = generateCampaignInfo(data);
  const infoWriter = new BatchWriter<null>({ client: options.client, tableName: options.campaignInfoTable, concurrency });
  for (const campaign of campaigns) await infoWriter.put(campaign.campaignID, marshall(campaign), null);
  await infoWriter.flush();

  const progressWriter = new BatchWriter<null>({ client: options.client, tableName: options.userCampaignTable, concurrency });
  for (const userCampaign of generateUserCampaigns(data)) {
    await progressWriter.put(`${userCampaign.userID}\u0000${userCampaign.campaignID}`, marshall(userCampaign), null);
  }
  await progressWriter.flush();

  return {
    ...summarizeCampaignData(campaigns, generateUserCampaigns(data)),
    written: infoWriter.written + progressWriter.written,
    elapsedMs: Date.now() - started,
  };
}
