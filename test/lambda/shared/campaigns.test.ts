import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CampaignOptionsError,
  generateCampaignInfo,
  generateUserCampaigns,
  summarizeCampaignData,
  VALIDATION_FAILURE_REASONS,
  type CampaignInfoItem,
  type CampaignDataOptions,
  type TaskProgressState,
  type UserCampaignItem,
} from '../../../lambda/shared/campaigns';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const CAMPAIGN_ID = /^CMP-\d{4}$/;
const USER_ID = /^USR-\d{6,}$/;
const TASK_ID = /^TASK-(\d{4})-(\d{2})$/;

function take<T>(items: Iterable<T>, count: number): T[] {
  const taken: T[] = [];
  if (count <= 0) return taken;
  for (const item of items) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
}

const cents = (amount: number) => Math.round(amount * 100);
const seconds = (isoText: string) => Date.parse(isoText) / 1000;

/** Money with at most two decimals: the double nearest some whole number of cents. */
const isMoney = (amount: number) => Number.isFinite(amount) && cents(amount) / 100 === amount;

/** `2024-01-01T00:00:00Z`, and a real instant (no 2024-02-30). */
const isIsoUtc = (text: string) => ISO_UTC.test(text) && new Date(text).toISOString().replace('.000Z', 'Z') === text;

/** The error `action` throws (undefined when it does not throw). */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

interface Dataset {
  readonly info: CampaignInfoItem[];
  readonly userCampaigns: UserCampaignItem[];
}

function generate(options: CampaignDataOptions): Dataset {
  return { info: generateCampaignInfo(options), userCampaigns: [...generateUserCampaigns(options)] };
}

const listedTasks = (info: readonly CampaignInfoItem[]) => new Map(info.map((campaign) => [campaign.campaignID, campaign]));

function isOrphan(campaign: CampaignInfoItem, taskID: string): boolean {
  return !campaign.campaignTasks.some((task) => task.taskID === taskID);
}

describe('campaign data determinism', () => {
  it('gives identical campaigns and user-campaigns for the same options', () => {
    const options = { users: 300, seed: 42 };
    expect(generate(options)).toStrictEqual(generate(options));
  });

  it('gives different data for a different seed', () => {
    const first = generate({ users: 300, seed: 1 });
    const second = generate({ users: 300, seed: 2 });
    expect(second.info).not.toEqual(first.info);
    expect(second.userCampaigns).not.toEqual(first.userCampaigns);
  });

  it('uses seed 1 and the 2024-01-01 epoch by default, never the clock', () => {
    expect(generate({ users: 50 })).toStrictEqual(generate({ users: 50, seed: 1, epoch: '2024-01-01T00:00:00Z' }));
    const earliest = Math.min(...generateCampaignInfo({ users: 50 }).map((campaign) => seconds(campaign.createdAt)));
    expect(earliest).toBeGreaterThanOrEqual(seconds('2024-01-01T00:00:00Z'));
  });

  it('counts all times from the epoch option', () => {
    const later = generateCampaignInfo({ users: 20, epoch: '2025-06-01T00:00:00Z' });
    for (const campaign of later) expect(seconds(campaign.createdAt)).toBeGreaterThanOrEqual(seconds('2025-06-01T00:00:00Z'));
  });
});

describe('campaign data streaming', () => {
  it('yields the first users of a million-user run without generating the rest', () => {
    const huge = take(generateUserCampaigns({ users: 1_000_000, seed: 7, campaigns: 10 }), 10);
    const small = take(generateUserCampaigns({ users: 100, seed: 7, campaigns: 10 }), 10);
    expect(huge).toHaveLength(10);
    expect(huge).toStrictEqual(small);
  });

  it('gives the same campaigns whatever the user count when the campaign count is given', () => {
    expect(generateCampaignInfo({ users: 1_000_000, seed: 7, campaigns: 10 })).toStrictEqual(generateCampaignInfo({ users: 10, seed: 7, campaigns: 10 }));
  });

  it('defaults to one campaign per 20 users, between 3 and 50', () => {
    expect(generateCampaignInfo({ users: 0 })).toHaveLength(3);
    expect(generateCampaignInfo({ users: 20 })).toHaveLength(3);
    expect(generateCampaignInfo({ users: 100 })).toHaveLength(5);
    expect(generateCampaignInfo({ users: 101 })).toHaveLength(6);
    expect(generateCampaignInfo({ users: 2000 })).toHaveLength(50);
  });

  it('yields nothing for zero users', () => {
    expect([...generateUserCampaigns({ users: 0 })]).toEqual([]);
  });
});

describe('campaign data invariants over 2,000 users', () => {
  const { info, userCampaigns } = generate({ users: 2000, seed: 1 });
  const campaigns = listedTasks(info);
  const campaignOf = (item: UserCampaignItem) => campaigns.get(item.campaignID) as CampaignInfoItem;

  // Each check collects violations as readable lines and asserts none: one assertion per
  // behaviour keeps thousands of items fast to check and names the offending item on failure.

  it('numbers campaigns CMP-0001 onwards and tasks TASK-<campaign>-01 onwards, 2 to 6 per campaign', () => {
    const problems: string[] = [];
    info.forEach((campaign, index) => {
      if (campaign.campaignID !== `CMP-${String(index + 1).padStart(4, '0')}`) problems.push(`campaign ${index}: id ${campaign.campaignID}`);
      const count = campaign.campaignTasks.length;
      if (count < 2 || count > 6) problems.push(`${campaign.campaignID}: ${count} tasks`);
      campaign.campaignTasks.forEach((task, taskIndex) => {
        const expected = `TASK-${campaign.campaignID.slice(4)}-${String(taskIndex + 1).padStart(2, '0')}`;
        if (task.taskID !== expected) problems.push(`${campaign.campaignID}: task ${task.taskID}, expected ${expected}`);
      });
    });
    expect(problems).toEqual([]);
  });

  it('gives every campaign a title, money rewards and deadlines after its creation', () => {
    const problems: string[] = [];
    for (const campaign of info) {
      const where = campaign.campaignID;
      if (campaign.title.trim() === '') problems.push(`${where}: empty title`);
      for (const [field, value] of Object.entries({ createdAt: campaign.createdAt, updatedAt: campaign.updatedAt, rewardClaimDeadline: campaign.rewardClaimDeadline })) {
        if (!isIsoUtc(value)) problems.push(`${where}: ${field} ${value} is not ISO-8601 UTC`);
      }
      const created = seconds(campaign.createdAt);
      if (!Number.isSafeInteger(campaign.endsAtTimestamp)) problems.push(`${where}: endsAtTimestamp ${campaign.endsAtTimestamp}`);
      if (seconds(campaign.updatedAt) < created) problems.push(`${where}: updatedAt before createdAt`);
      if (campaign.endsAtTimestamp <= created) problems.push(`${where}: ends before it starts`);
      if (seconds(campaign.rewardClaimDeadline) < campaign.endsAtTimestamp) problems.push(`${where}: claim deadline before the end`);
      for (const task of campaign.campaignTasks) {
        if (!isMoney(task.rewardAmount) || task.rewardAmount <= 0) problems.push(`${task.taskID}: reward ${task.rewardAmount}`);
        if (!isIsoUtc(task.taskDeadline)) problems.push(`${task.taskID}: deadline ${task.taskDeadline} is not ISO-8601 UTC`);
        const deadline = seconds(task.taskDeadline);
        if (deadline <= created || deadline > campaign.endsAtTimestamp) problems.push(`${task.taskID}: deadline ${task.taskDeadline} outside the campaign`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('enrols every user, in order, in 1 to 3 distinct existing campaigns', () => {
    const problems: string[] = [];
    const byUser = new Map<string, string[]>();
    for (const item of userCampaigns) {
      if (!USER_ID.test(item.userID)) problems.push(`bad userID ${item.userID}`);
      if (!CAMPAIGN_ID.test(item.campaignID) || !campaigns.has(item.campaignID)) problems.push(`${item.userID}: unknown campaign ${item.campaignID}`);
      const enrolled = byUser.get(item.userID) ?? [];
      enrolled.push(item.campaignID);
      byUser.set(item.userID, enrolled);
    }
    for (const [user, enrolled] of byUser) {
      if (enrolled.length < 1 || enrolled.length > 3 || new Set(enrolled).size !== enrolled.length) problems.push(`${user}: enrolled in ${enrolled.join(', ')}`);
    }
    expect(problems).toEqual([]);
    expect([...byUser.keys()]).toEqual(Array.from({ length: 2000 }, (_, index) => `USR-${String(index + 1).padStart(6, '0')}`));
  });

  it('has one item per userID and campaignID', () => {
    const keys = new Set(userCampaigns.map((item) => `${item.userID}|${item.campaignID}`));
    expect(keys.size).toBe(userCampaigns.length);
  });

  it('writes only the attributes that apply to each progress state, with no undefined, null or empty values', () => {
    const itemKeys = 'campaignID,createdAt,progressDetails,totalTaskRewardsEarned,updatedAt,userCampaignProgressState,userID';
    const entryKeys: Record<TaskProgressState, string> = {
      NOT_STARTED: 'rewardEarned,taskID,userCampaignTaskProgressState',
      IN_PROGRESS: 'rewardEarned,taskID,userCampaignTaskProgressState',
      VALIDATED: 'rewardEarned,taskID,userCampaignTaskProgressState,validatedAt',
      REJECTED: 'rewardEarned,taskID,userCampaignTaskProgressState,validationFailureReason',
    };
    const reasons: readonly string[] = VALIDATION_FAILURE_REASONS;
    const problems: string[] = [];
    const seenStates = new Set<string>();
    for (const item of userCampaigns) {
      const where = `${item.userID}/${item.campaignID}`;
      if (Object.keys(item).sort().join() !== itemKeys) problems.push(`${where}: keys ${Object.keys(item).join()}`);
      for (const entry of item.progressDetails) {
        seenStates.add(entry.userCampaignTaskProgressState);
        const keys = Object.keys(entry).sort().join();
        if (keys !== entryKeys[entry.userCampaignTaskProgressState]) problems.push(`${where} ${entry.taskID} ${entry.userCampaignTaskProgressState}: keys ${keys}`);
        if (Object.values(entry).some((value) => value === undefined || value === null || value === '')) problems.push(`${where} ${entry.taskID}: empty value`);
        if (entry.validatedAt !== undefined && !isIsoUtc(entry.validatedAt)) problems.push(`${where} ${entry.taskID}: validatedAt ${entry.validatedAt}`);
        if (entry.validationFailureReason !== undefined && !reasons.includes(entry.validationFailureReason)) problems.push(`${where} ${entry.taskID}: reason ${entry.validationFailureReason}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...seenStates].sort()).toEqual(['IN_PROGRESS', 'NOT_STARTED', 'REJECTED', 'VALIDATED']);
  });

  it('pays the campaign task reward for VALIDATED tasks only, and totals exactly to the cent', () => {
    const problems: string[] = [];
    for (const item of userCampaigns) {
      const where = `${item.userID}/${item.campaignID}`;
      const tasks = new Map(campaignOf(item).campaignTasks.map((task) => [task.taskID, task.rewardAmount]));
      let totalCents = 0;
      for (const entry of item.progressDetails) {
        const expected = entry.userCampaignTaskProgressState === 'VALIDATED' ? tasks.get(entry.taskID) : 0;
        if (expected === undefined || entry.rewardEarned !== expected || !isMoney(entry.rewardEarned)) {
          problems.push(`${where} ${entry.taskID} ${entry.userCampaignTaskProgressState}: rewardEarned ${entry.rewardEarned}, expected ${expected}`);
        }
        totalCents += cents(entry.rewardEarned);
      }
      if (item.totalTaskRewardsEarned !== totalCents / 100) problems.push(`${where}: total ${item.totalTaskRewardsEarned}, expected ${totalCents / 100}`);
    }
    expect(problems).toEqual([]);
  });

  it('sets the user-campaign state consistently with its progress', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const item of userCampaigns) {
      const state = item.userCampaignProgressState;
      seen.add(state);
      const allValidated = campaignOf(item).campaignTasks.every((task) =>
        item.progressDetails.some((entry) => entry.taskID === task.taskID && entry.userCampaignTaskProgressState === 'VALIDATED'),
      );
      const empty = item.progressDetails.length === 0;
      if ((state === 'ENROLLED') !== empty) problems.push(`${item.userID}/${item.campaignID}: ${state} with ${item.progressDetails.length} entries`);
      if ((state === 'COMPLETED') !== allValidated) problems.push(`${item.userID}/${item.campaignID}: ${state}, all tasks validated: ${allValidated}`);
    }
    expect(problems).toEqual([]);
    expect([...seen].sort()).toEqual(['COMPLETED', 'ENROLLED', 'EXPIRED', 'IN_PROGRESS']);
  });

  it('covers a subset of the campaign tasks, each task at most once, plus at most one orphan task', () => {
    const problems: string[] = [];
    for (const item of userCampaigns) {
      const where = `${item.userID}/${item.campaignID}`;
      const taskIDs = item.progressDetails.map((entry) => entry.taskID);
      if (new Set(taskIDs).size !== taskIDs.length) problems.push(`${where}: repeated task in ${taskIDs.join()}`);
      if (taskIDs.some((taskID) => !TASK_ID.test(taskID))) problems.push(`${where}: malformed task in ${taskIDs.join()}`);
      const orphans = item.progressDetails.filter((entry) => isOrphan(campaignOf(item), entry.taskID));
      if (orphans.length > 1) problems.push(`${where}: ${orphans.length} orphan tasks`);
      for (const orphan of orphans) {
        // Well-formed and of this campaign, just not listed by it; never rewarded.
        if (TASK_ID.exec(orphan.taskID)?.[1] !== item.campaignID.slice(4)) problems.push(`${where}: orphan ${orphan.taskID} of another campaign`);
        if (!['IN_PROGRESS', 'REJECTED'].includes(orphan.userCampaignTaskProgressState)) problems.push(`${where}: orphan ${orphan.userCampaignTaskProgressState}`);
        if (orphan.rewardEarned !== 0) problems.push(`${where}: orphan earned ${orphan.rewardEarned}`);
        if (!['IN_PROGRESS', 'EXPIRED'].includes(item.userCampaignProgressState)) problems.push(`${where}: ${item.userCampaignProgressState} with an orphan`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('keeps createdAt <= updatedAt and all times in ISO-8601 UTC, validations inside the user-campaign', () => {
    const problems: string[] = [];
    for (const item of userCampaigns) {
      const where = `${item.userID}/${item.campaignID}`;
      if (!isIsoUtc(item.createdAt) || !isIsoUtc(item.updatedAt)) problems.push(`${where}: ${item.createdAt} ${item.updatedAt}`);
      const created = seconds(item.createdAt);
      const updated = seconds(item.updatedAt);
      if (updated < created) problems.push(`${where}: updatedAt before createdAt`);
      if (created < seconds(campaignOf(item).createdAt)) problems.push(`${where}: created before its campaign`);
      for (const entry of item.progressDetails) {
        if (entry.validatedAt === undefined) continue;
        const validated = seconds(entry.validatedAt);
        if (validated <= created || validated > updated) problems.push(`${where} ${entry.taskID}: validatedAt ${entry.validatedAt} outside ${item.createdAt}..${item.updatedAt}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('spreads user-campaign creation over many days (several created_day partitions)', () => {
    const days = new Set(userCampaigns.map((item) => item.createdAt.slice(0, 10)));
    expect(days.size).toBeGreaterThanOrEqual(30);
  });

  it('has about 10% empty progress lists and 3% orphan tasks', () => {
    const summary = summarizeCampaignData(info, userCampaigns);
    expect(summary.emptyProgress / summary.userCampaigns).toBeGreaterThanOrEqual(0.07);
    expect(summary.emptyProgress / summary.userCampaigns).toBeLessThanOrEqual(0.13);
    expect(summary.orphanTasks / summary.userCampaigns).toBeGreaterThanOrEqual(0.015);
    expect(summary.orphanTasks / summary.userCampaigns).toBeLessThanOrEqual(0.045);
  });

  it.each([2, 3, 99])('keeps the edge-case shares in range for seed %i', (seed) => {
    const summary = summarizeCampaignData(generateCampaignInfo({ users: 2000, seed }), generateUserCampaigns({ users: 2000, seed }));
    expect(summary.emptyProgress / summary.userCampaigns).toBeGreaterThanOrEqual(0.07);
    expect(summary.emptyProgress / summary.userCampaigns).toBeLessThanOrEqual(0.13);
    expect(summary.orphanTasks / summary.userCampaigns).toBeGreaterThanOrEqual(0.015);
    expect(summary.orphanTasks / summary.userCampaigns).toBeLessThanOrEqual(0.045);
  });
});

describe('campaign data edge cases in small runs', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('has at least one empty progress list and one orphan task in 20 users (seed %i)', (seed) => {
    const summary = summarizeCampaignData(generateCampaignInfo({ users: 20, seed }), generateUserCampaigns({ users: 20, seed }));
    expect(summary.emptyProgress).toBeGreaterThanOrEqual(1);
    expect(summary.orphanTasks).toBeGreaterThanOrEqual(1);
  });
});

describe('summarizeCampaignData', () => {
  it('counts campaigns, tasks, user-campaigns, empty lists, orphan tasks and validations', () => {
    const { info, userCampaigns } = generate({ users: 500, seed: 3 });
    const campaigns = listedTasks(info);
    const entries = userCampaigns.flatMap((item) => item.progressDetails.map((entry) => ({ item, entry })));
    expect(summarizeCampaignData(info, userCampaigns)).toEqual({
      campaigns: info.length,
      tasks: info.reduce((sum, campaign) => sum + campaign.campaignTasks.length, 0),
      userCampaigns: userCampaigns.length,
      emptyProgress: userCampaigns.filter((item) => item.progressDetails.length === 0).length,
      orphanTasks: entries.filter(({ item, entry }) => isOrphan(campaigns.get(item.campaignID) as CampaignInfoItem, entry.taskID)).length,
      validated: entries.filter(({ entry }) => entry.userCampaignTaskProgressState === 'VALIDATED').length,
    });
  });

  it('consumes a generator and counts entries of unknown campaigns as orphans', () => {
    const summary = summarizeCampaignData([], generateUserCampaigns({ users: 40, seed: 5 }));
    const all = [...generateUserCampaigns({ users: 40, seed: 5 })];
    expect(summary.campaigns).toBe(0);
    expect(summary.userCampaigns).toBe(all.length);
    expect(summary.orphanTasks).toBe(all.reduce((sum, item) => sum + item.progressDetails.length, 0));
  });
});

describe('campaign data options', () => {
  it.each<[string, CampaignDataOptions]>([
    ['users', { users: -1 }],
    ['users', { users: 1.5 }],
    ['seed', { users: 1, seed: Number.NaN }],
    ['campaigns', { users: 1, campaigns: 0 }],
    ['epoch', { users: 1, epoch: 'yesterday' }],
  ])('rejects a bad %s option with a coded error', (field, options) => {
    const error = thrownBy(() => generateCampaignInfo(options));
    expect(error).toBeInstanceOf(CampaignOptionsError);
    expect(error).toMatchObject({ code: 'INVALID_CAMPAIGN_OPTIONS', field });
    // The generator checks its options when called, not at the first item.
    expect(thrownBy(() => generateUserCampaigns(options))).toBeInstanceOf(CampaignOptionsError);
  });
});

describe('campaigns module boundaries', () => {
  it('imports nothing but Node built-ins (no aws-cdk-lib, lib/ or AWS SDK)', () => {
    const source = readFileSync(join(__dirname, '../../../lambda/shared/campaigns.ts'), 'utf8');
    const imports = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]);
    for (const specifier of imports) expect(specifier).toMatch(/^node:/);
  });
});
