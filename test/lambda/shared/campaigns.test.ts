import { createHash } from 'node:crypto';
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

/** `make()` once, on first use: several describes share the larger datasets. */
function memo<T>(make: () => T): () => T {
  let value: { readonly made: T } | undefined;
  return () => (value ??= { made: make() }).made;
}

const seed1Users2000 = memo(() => generate({ users: 2000, seed: 1 }));
const campaigns9999 = memo(() => generateCampaignInfo({ users: 0, seed: 1, campaigns: 9999 }));

const listedTasks = (info: readonly CampaignInfoItem[]) => new Map(info.map((campaign) => [campaign.campaignID, campaign]));

function isOrphan(campaign: CampaignInfoItem, taskID: string): boolean {
  return !campaign.campaignTasks.some((task) => task.taskID === taskID);
}

const DAY = 24 * 60 * 60;

/** Whether `values` are in ascending order (equal neighbours allowed). */
const ascending = (values: readonly (number | string)[]) => values.every((value, index) => index === 0 || (values[index - 1] as number | string) <= value);

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

  it('takes the whole seed, not just its low 32 bits, and tells negative seeds apart', () => {
    // 2 ** 32 + 1 and 1 share their low 32 bits; -1 and 2 ** 32 - 1 too (two's complement).
    const seeds = [1, 2 ** 32 + 1, -1, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const datasets = seeds.map((seed) => JSON.stringify(generateCampaignInfo({ users: 0, seed, campaigns: 5 })));
    expect(new Set(datasets).size).toBe(seeds.length);
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

// Reproducibility is a contract: the same options give the same data on every machine and in every
// version, so a local run, a cloud run and a re-seed agree, and stored datasets can be regenerated.
// These values were produced by the generator and are pinned on purpose; a change to them changes
// every dataset and must be deliberate. The other describes test the properties these values must have.
describe('campaign data reproducibility (pinned values)', () => {
  it('gives exactly these campaigns and user-campaigns for 2 users, 2 campaigns, seed 1', () => {
    const options = { users: 2, seed: 1, campaigns: 2 };
    expect(generateCampaignInfo(options)).toStrictEqual([
      {
        campaignID: 'CMP-0001',
        title: 'Holiday Quest',
        campaignTasks: [
          { taskID: 'TASK-0001-01', rewardAmount: 29.02, taskDeadline: '2024-03-13T02:10:29Z' },
          { taskID: 'TASK-0001-02', rewardAmount: 36.11, taskDeadline: '2024-03-18T22:06:18Z' },
          { taskID: 'TASK-0001-03', rewardAmount: 13.26, taskDeadline: '2024-04-13T08:27:13Z' },
          { taskID: 'TASK-0001-04', rewardAmount: 16.38, taskDeadline: '2024-05-02T10:51:27Z' },
        ],
        rewardClaimDeadline: '2024-05-18T21:16:39Z',
        endsAtTimestamp: 1714857399,
        createdAt: '2024-02-05T21:16:39Z',
        updatedAt: '2024-02-07T15:16:44Z',
      },
      {
        campaignID: 'CMP-0002',
        title: 'Loyalty Bonus Hunt',
        campaignTasks: [
          { taskID: 'TASK-0002-01', rewardAmount: 17.64, taskDeadline: '2024-02-04T09:40:19Z' },
          { taskID: 'TASK-0002-02', rewardAmount: 26.27, taskDeadline: '2024-02-06T01:49:15Z' },
          { taskID: 'TASK-0002-03', rewardAmount: 42.65, taskDeadline: '2024-02-09T20:13:33Z' },
          { taskID: 'TASK-0002-04', rewardAmount: 38.02, taskDeadline: '2024-02-14T15:17:50Z' },
          { taskID: 'TASK-0002-05', rewardAmount: 18.75, taskDeadline: '2024-02-20T09:12:53Z' },
        ],
        rewardClaimDeadline: '2024-03-07T17:15:56Z',
        endsAtTimestamp: 1708622156,
        createdAt: '2024-01-23T17:15:56Z',
        updatedAt: '2024-01-25T07:27:53Z',
      },
    ]);
    expect([...generateUserCampaigns(options)]).toStrictEqual([
      {
        userID: 'USR-000001',
        campaignID: 'CMP-0002',
        progressDetails: [],
        userCampaignProgressState: 'ENROLLED',
        totalTaskRewardsEarned: 0,
        createdAt: '2024-02-04T15:48:38Z',
        updatedAt: '2024-02-04T15:48:38Z',
      },
      {
        userID: 'USR-000002',
        campaignID: 'CMP-0001',
        progressDetails: [{ taskID: 'TASK-0001-04', userCampaignTaskProgressState: 'IN_PROGRESS', rewardEarned: 0 }],
        userCampaignProgressState: 'IN_PROGRESS',
        totalTaskRewardsEarned: 0,
        createdAt: '2024-03-08T10:33:32Z',
        updatedAt: '2024-03-26T18:10:15Z',
      },
    ]);
  });

  it('gives exactly this data for 2,000 users, seed 1 (SHA-256 of its JSON)', () => {
    const { info, userCampaigns } = seed1Users2000();
    const digest = createHash('sha256').update(JSON.stringify(info)).update(JSON.stringify(userCampaigns)).digest('hex');
    expect(digest).toBe('b525d27a78f5a9735fbbb8bed6c153a8e3346f952f93384b684486fde2f6643f');
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

describe('campaign ranges over 9,999 campaigns', () => {
  const epoch = seconds('2024-01-01T00:00:00Z');
  const info = campaigns9999();

  it('launches campaigns within the first 60 days from the epoch, for 30 to 90 whole days', () => {
    const problems: string[] = [];
    for (const campaign of info) {
      const created = seconds(campaign.createdAt);
      if (created < epoch || created >= epoch + 60 * DAY) problems.push(`${campaign.campaignID}: created ${campaign.createdAt}`);
      const life = campaign.endsAtTimestamp - created;
      if (life % DAY !== 0 || life < 30 * DAY || life > 90 * DAY) problems.push(`${campaign.campaignID}: lives ${life / DAY} days`);
    }
    expect(problems).toEqual([]);
  });

  it('edits campaigns within 3 days of their launch, and opens reward claims exactly 14 days after the end', () => {
    const problems: string[] = [];
    let latestEdit = 0;
    for (const campaign of info) {
      const edited = seconds(campaign.updatedAt) - seconds(campaign.createdAt);
      latestEdit = Math.max(latestEdit, edited);
      if (edited < 0 || edited > 3 * DAY) problems.push(`${campaign.campaignID}: updated ${edited} s after its creation`);
      if (seconds(campaign.rewardClaimDeadline) !== campaign.endsAtTimestamp + 14 * DAY) problems.push(`${campaign.campaignID}: claim deadline ${campaign.rewardClaimDeadline}`);
    }
    expect(problems).toEqual([]);
    // Edits spread over the three days rather than all falling at the launch.
    expect(latestEdit).toBeGreaterThan(2 * DAY);
  });

  it('gives tasks rewards from 0.50 to 50.00 and deadlines from a week after launch to the end, in task order', () => {
    const problems: string[] = [];
    const rewards = new Set<number>();
    for (const campaign of info) {
      const created = seconds(campaign.createdAt);
      const deadlines = campaign.campaignTasks.map((task) => seconds(task.taskDeadline));
      if (!ascending(deadlines)) problems.push(`${campaign.campaignID}: deadlines out of task order ${deadlines.join()}`);
      for (const task of campaign.campaignTasks) {
        rewards.add(task.rewardAmount);
        if (!isMoney(task.rewardAmount) || task.rewardAmount < 0.5 || task.rewardAmount > 50) problems.push(`${task.taskID}: reward ${task.rewardAmount}`);
        const deadline = seconds(task.taskDeadline);
        if (deadline < created + 7 * DAY || deadline > campaign.endsAtTimestamp) problems.push(`${task.taskID}: deadline ${task.taskDeadline}`);
      }
    }
    expect(problems).toEqual([]);
    // Amounts in cents, not whole units only.
    expect([...rewards].filter((reward) => !Number.isInteger(reward)).length).toBeGreaterThan(1000);
  });

  it('titles campaigns "<opener> <theme>" from fixed word lists, without stray spaces', () => {
    const problems = info.filter((campaign) => !/^[A-Z][a-z]+ [A-Z][a-z]+( [A-Z][a-z]+)?$/.test(campaign.title)).map((campaign) => `${campaign.campaignID}: ${JSON.stringify(campaign.title)}`);
    expect(problems).toEqual([]);
    // 10 openers × 8 themes (two of them two words long).
    expect(new Set(info.map((campaign) => campaign.title)).size).toBe(80);
  });
});

describe('campaign data invariants over 2,000 users', () => {
  const { info, userCampaigns } = seed1Users2000();
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

  it('lists each user\'s campaigns in campaign order, and progress in task order with the orphan task last', () => {
    const problems: string[] = [];
    for (let start = 0; start < userCampaigns.length; ) {
      let end = start;
      while (userCampaigns[end]?.userID === userCampaigns[start]?.userID) end++;
      const enrolled = userCampaigns.slice(start, end).map((item) => item.campaignID);
      if (!ascending(enrolled)) problems.push(`${userCampaigns[start]?.userID}: campaigns ${enrolled.join()}`);
      start = end;
    }
    for (const item of userCampaigns) {
      const orphanFlags = item.progressDetails.map((entry) => isOrphan(campaignOf(item), entry.taskID));
      const listed = item.progressDetails.filter((_, index) => orphanFlags[index] !== true).map((entry) => entry.taskID);
      if (!ascending(listed) || orphanFlags.slice(0, -1).includes(true)) problems.push(`${item.userID}/${item.campaignID}: tasks ${item.progressDetails.map((entry) => entry.taskID).join()}`);
    }
    expect(problems).toEqual([]);
  });

  it('keeps actions within three weeks of joining and before the campaign end; expiry is recorded at the end', () => {
    const problems: string[] = [];
    let latestValidation = 0;
    for (const item of userCampaigns) {
      const where = `${item.userID}/${item.campaignID}`;
      const created = seconds(item.createdAt);
      const end = campaignOf(item).endsAtTimestamp;
      const limit = Math.min(created + 21 * DAY, end);
      for (const entry of item.progressDetails) {
        if (entry.validatedAt === undefined) continue;
        latestValidation = Math.max(latestValidation, seconds(entry.validatedAt) - created);
        if (seconds(entry.validatedAt) > limit) problems.push(`${where} ${entry.taskID}: validatedAt ${entry.validatedAt} after ${limit}`);
      }
      const updated = seconds(item.updatedAt);
      if (item.userCampaignProgressState === 'EXPIRED' ? updated !== end : updated > limit) problems.push(`${where} ${item.userCampaignProgressState}: updatedAt ${item.updatedAt}`);
    }
    expect(problems).toEqual([]);
    // Actions spread over the three weeks.
    expect(latestValidation).toBeGreaterThan(20 * DAY);
  });

  it('leaves a user-campaign whose tasks are all NOT_STARTED as it was when the user joined', () => {
    const untouched = userCampaigns.filter(
      (item) => item.progressDetails.length > 0 && item.userCampaignProgressState !== 'EXPIRED' && item.progressDetails.every((entry) => entry.userCampaignTaskProgressState === 'NOT_STARTED'),
    );
    expect(untouched.length).toBeGreaterThanOrEqual(20);
    expect(untouched.filter((item) => item.updatedAt !== item.createdAt)).toEqual([]);
  });

  it('has orphan user-campaigns covering none of the campaign tasks, and unfinished ones covering all', () => {
    const listedCount = (item: UserCampaignItem) => item.progressDetails.filter((entry) => !isOrphan(campaignOf(item), entry.taskID)).length;
    const orphanOnly = userCampaigns.filter((item) => item.progressDetails.length > 0 && listedCount(item) === 0);
    const allTasksUnfinished = userCampaigns.filter((item) => item.userCampaignProgressState !== 'COMPLETED' && listedCount(item) === campaignOf(item).campaignTasks.length);
    expect(orphanOnly.length).toBeGreaterThanOrEqual(10);
    expect(allTasksUnfinished.length).toBeGreaterThanOrEqual(100);
  });

  it('draws task states at about 10% NOT_STARTED, 30% IN_PROGRESS, 45% VALIDATED and 15% REJECTED', () => {
    // Campaign tasks of unfinished user-campaigns: completers validate every task, orphan tasks have their own draw.
    const counts = { NOT_STARTED: 0, IN_PROGRESS: 0, VALIDATED: 0, REJECTED: 0 };
    let total = 0;
    for (const item of userCampaigns) {
      if (item.userCampaignProgressState === 'COMPLETED') continue;
      for (const entry of item.progressDetails) {
        if (isOrphan(campaignOf(item), entry.taskID)) continue;
        counts[entry.userCampaignTaskProgressState]++;
        total++;
      }
    }
    expect(total).toBeGreaterThan(5000);
    const share = (state: TaskProgressState) => counts[state] / total;
    expect(share('NOT_STARTED')).toBeGreaterThanOrEqual(0.07);
    expect(share('NOT_STARTED')).toBeLessThanOrEqual(0.13);
    expect(share('IN_PROGRESS')).toBeGreaterThanOrEqual(0.26);
    expect(share('IN_PROGRESS')).toBeLessThanOrEqual(0.34);
    // A little under 45%: leaving out COMPLETED user-campaigns leaves out some VALIDATED draws.
    expect(share('VALIDATED')).toBeGreaterThanOrEqual(0.39);
    expect(share('VALIDATED')).toBeLessThanOrEqual(0.49);
    expect(share('REJECTED')).toBeGreaterThanOrEqual(0.11);
    expect(share('REJECTED')).toBeLessThanOrEqual(0.19);
  });

  it('completes about a fifth of the user-campaigns and expires about a tenth', () => {
    // 20% of regular user-campaigns (87% of all) are completers, and a few others validate every task by chance;
    // 15% of the unfinished, started ones (about 70% of all) expire.
    const share = (state: string) => userCampaigns.filter((item) => item.userCampaignProgressState === state).length / userCampaigns.length;
    expect(share('COMPLETED')).toBeGreaterThanOrEqual(0.15);
    expect(share('COMPLETED')).toBeLessThanOrEqual(0.25);
    expect(share('EXPIRED')).toBeGreaterThanOrEqual(0.07);
    expect(share('EXPIRED')).toBeLessThanOrEqual(0.14);
  });

  it('makes in every block of 20 users the first user-campaign of at least 2 users empty and of at least 1 an orphan', () => {
    const problems: string[] = [];
    const firsts = new Map<string, UserCampaignItem>();
    for (const item of userCampaigns) if (!firsts.has(item.userID)) firsts.set(item.userID, item);
    const users = [...firsts.values()];
    for (let block = 0; block * 20 < users.length; block++) {
      const firstItems = users.slice(block * 20, block * 20 + 20);
      const empty = firstItems.filter((item) => item.progressDetails.length === 0).length;
      const orphan = firstItems.filter((item) => item.progressDetails.some((entry) => isOrphan(campaignOf(item), entry.taskID))).length;
      if (empty < 2 || orphan < 1) problems.push(`users ${block * 20 + 1}-${block * 20 + 20}: ${empty} empty, ${orphan} orphan`);
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
  it.each<[string, CampaignDataOptions, string]>([
    ['users', { users: -1 }, 'campaign data option users: -1 is not a whole number >= 0'],
    ['users', { users: 1.5 }, 'campaign data option users: 1.5 is not a whole number >= 0'],
    ['seed', { users: 1, seed: Number.NaN }, 'campaign data option seed: NaN is not a whole number'],
    ['seed', { users: 1, seed: 0.5 }, 'campaign data option seed: 0.5 is not a whole number'],
    ['campaigns', { users: 1, campaigns: 0 }, 'campaign data option campaigns: 0 is not a whole number from 1 to 9999'],
    ['campaigns', { users: 1, campaigns: 10000 }, 'campaign data option campaigns: 10000 is not a whole number from 1 to 9999'],
    ['campaigns', { users: 1, campaigns: 2.5 }, 'campaign data option campaigns: 2.5 is not a whole number from 1 to 9999'],
    ['epoch', { users: 1, epoch: 'yesterday' }, 'campaign data option epoch: "yesterday" is not an ISO-8601 date'],
  ])('rejects a bad %s option with a coded error naming it', (field, options, message) => {
    const error = thrownBy(() => generateCampaignInfo(options));
    expect(error).toBeInstanceOf(CampaignOptionsError);
    expect(error).toMatchObject({ name: 'CampaignOptionsError', code: 'INVALID_CAMPAIGN_OPTIONS', field, message });
    // The generator checks its options when called, not at the first item.
    expect(thrownBy(() => generateUserCampaigns(options))).toMatchObject({ field, message });
  });

  it('accepts 1 to 9999 campaigns', () => {
    expect(generateCampaignInfo({ users: 1, campaigns: 1 }).map((campaign) => campaign.campaignID)).toEqual(['CMP-0001']);
    expect([...generateUserCampaigns({ users: 3, campaigns: 1 })].map((item) => item.campaignID)).toEqual(['CMP-0001', 'CMP-0001', 'CMP-0001']);
    expect(campaigns9999().map((campaign) => campaign.campaignID).at(-1)).toBe('CMP-9999');
  });
});

describe('campaigns module boundaries', () => {
  it('imports nothing but Node built-ins (no aws-cdk-lib, lib/ or AWS SDK)', () => {
    const source = readFileSync(join(__dirname, '../../../lambda/shared/campaigns.ts'), 'utf8');
    const imports = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]);
    for (const specifier of imports) expect(specifier).toMatch(/^node:/);
  });
});
