/**
 * Deterministic campaign data: the campaignInfo and user_Campaign items that the seed
 * (`npm run seed -- --dataset campaigns --users N`) and the local pipeline load.
 *
 * Pure and dependency-free. The same options always give the same items, element for element:
 * every random choice comes from a small seeded PRNG, and dates count from a fixed epoch, never
 * from the wall clock. Each user's items come from a PRNG derived from (seed, user index) alone,
 * so users can be generated one at a time (bounded memory for millions of users) and the first
 * users of a large run equal those of a small run with the same seed and campaign count.
 *
 * The data deliberately contains the edge cases the campaign_progress job must survive:
 * user-campaigns with an empty progress list, and progress entries for a task that the campaign
 * does not list (an "orphan" task, e.g. a task removed from the campaign after users began it).
 */

export interface CampaignTask {
  readonly taskID: string;
  /** Money, at most 2 decimals. */
  readonly rewardAmount: number;
  /** ISO-8601 UTC. */
  readonly taskDeadline: string;
}

export interface CampaignInfoItem {
  readonly campaignID: string;
  readonly title: string;
  readonly campaignTasks: readonly CampaignTask[];
  /** ISO-8601 UTC. */
  readonly rewardClaimDeadline: string;
  /** Epoch seconds. */
  readonly endsAtTimestamp: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type TaskProgressState = 'NOT_STARTED' | 'IN_PROGRESS' | 'VALIDATED' | 'REJECTED';

export interface TaskProgress {
  readonly taskID: string;
  readonly userCampaignTaskProgressState: TaskProgressState;
  /** Present only when VALIDATED. */
  readonly validatedAt?: string;
  /** Present only when REJECTED; one of {@link VALIDATION_FAILURE_REASONS}. */
  readonly validationFailureReason?: string;
  /** The campaign task's rewardAmount when VALIDATED, otherwise 0. */
  readonly rewardEarned: number;
}

export type UserCampaignProgressState = 'ENROLLED' | 'IN_PROGRESS' | 'COMPLETED' | 'EXPIRED';

export interface UserCampaignItem {
  readonly userID: string;
  readonly campaignID: string;
  readonly progressDetails: readonly TaskProgress[];
  readonly userCampaignProgressState: UserCampaignProgressState;
  /** Sum of the entries' rewardEarned, exact to the cent. */
  readonly totalTaskRewardsEarned: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CampaignDataOptions {
  /** How many users to generate (USR-000001 …). */
  readonly users: number;
  /** PRNG seed. @default 1 */
  readonly seed?: number;
  /** How many campaigns. @default max(3, min(50, ceil(users / 20))) */
  readonly campaigns?: number;
  /** ISO base date all times count from. @default '2024-01-01T00:00:00Z' */
  readonly epoch?: string;
}

/** Counts over generated (or loaded) campaign data. */
export interface CampaignDataSummary {
  readonly campaigns: number;
  /** Tasks listed by the campaigns. */
  readonly tasks: number;
  readonly userCampaigns: number;
  /** User-campaigns whose progressDetails is empty. */
  readonly emptyProgress: number;
  /** Progress entries whose taskID their campaign does not list (or whose campaign is unknown). */
  readonly orphanTasks: number;
  /** Progress entries in state VALIDATED. */
  readonly validated: number;
}

/** The fixed reasons a task validation can fail with. */
export const VALIDATION_FAILURE_REASONS = [
  'PROOF_MISSING',
  'PROOF_UNREADABLE',
  'SUBMITTED_AFTER_DEADLINE',
  'DUPLICATE_SUBMISSION',
  'ACCOUNT_NOT_ELIGIBLE',
] as const;

/** Task number used for orphan progress entries; campaigns have at most 6 tasks, so it is never listed. */
export const ORPHAN_TASK_NUMBER = 99;

export const DEFAULT_SEED = 1;
export const DEFAULT_EPOCH = '2024-01-01T00:00:00Z';

/** Thrown for options that cannot produce data; `field` names the option. */
export class CampaignOptionsError extends RangeError {
  readonly code = 'INVALID_CAMPAIGN_OPTIONS';
  constructor(
    readonly field: keyof CampaignDataOptions,
    reason: string,
  ) {
    super(`campaign data option ${field}: ${reason}`);
    this.name = 'CampaignOptionsError';
  }
}

/** The campaign count used when options.campaigns is left out: one per 20 users, between 3 and 50. */
export function defaultCampaignCount(users: number): number {
  return Math.max(3, Math.min(50, Math.ceil(users / 20)));
}

/** Campaigns in order CMP-0001, CMP-0002, …; they depend on seed, campaign count and epoch only. */
export function generateCampaignInfo(options: CampaignDataOptions): CampaignInfoItem[] {
  return planCampaigns(resolveOptions(options)).map((plan) => plan.item);
}

/**
 * User-campaigns, user by user (USR-000001 first), lazily: nothing is computed for a user until
 * the consumer asks for its items, and nothing is kept once they are yielded.
 */
export function generateUserCampaigns(options: CampaignDataOptions): Generator<UserCampaignItem> {
  // Options are checked here, at the call, rather than at the first next().
  const settings = resolveOptions(options);
  return userCampaignsOfAll(settings, planCampaigns(settings));
}

function* userCampaignsOfAll(settings: Settings, plans: readonly CampaignPlan[]): Generator<UserCampaignItem> {
  for (let index = 0; index < settings.users; index++) yield* userCampaignsOf(index, plans, settings.seed);
}

/**
 * Counts for tests and the seed's summary. `userCampaigns` may be any iterable (a generator is
 * consumed); memory stays bounded by the campaigns, not the user-campaigns.
 */
export function summarizeCampaignData(info: Iterable<CampaignInfoItem>, userCampaigns: Iterable<UserCampaignItem>): CampaignDataSummary {
  const tasksByCampaign = new Map<string, ReadonlySet<string>>();
  let tasks = 0;
  for (const campaign of info) {
    tasksByCampaign.set(campaign.campaignID, new Set(campaign.campaignTasks.map((task) => task.taskID)));
    tasks += campaign.campaignTasks.length;
  }
  let count = 0;
  let emptyProgress = 0;
  let orphanTasks = 0;
  let validated = 0;
  for (const userCampaign of userCampaigns) {
    count++;
    if (userCampaign.progressDetails.length === 0) emptyProgress++;
    const listed = tasksByCampaign.get(userCampaign.campaignID);
    for (const entry of userCampaign.progressDetails) {
      if (listed?.has(entry.taskID) !== true) orphanTasks++;
      if (entry.userCampaignTaskProgressState === 'VALIDATED') validated++;
    }
  }
  return { campaigns: tasksByCampaign.size, tasks, userCampaigns: count, emptyProgress, orphanTasks, validated };
}

// ---------------------------------------------------------------------------------------------
// Options

interface Settings {
  readonly users: number;
  readonly seed: number;
  readonly campaigns: number;
  /** Epoch seconds. */
  readonly epoch: number;
}

function resolveOptions(options: CampaignDataOptions): Settings {
  const { users, seed = DEFAULT_SEED, epoch = DEFAULT_EPOCH } = options;
  if (!Number.isSafeInteger(users) || users < 0) throw new CampaignOptionsError('users', `${users} is not a whole number >= 0`);
  if (!Number.isSafeInteger(seed)) throw new CampaignOptionsError('seed', `${seed} is not a whole number`);
  const campaigns = options.campaigns ?? defaultCampaignCount(users);
  // Four-digit campaign numbers keep IDs and their sort order tidy.
  if (!Number.isSafeInteger(campaigns) || campaigns < 1 || campaigns > 9999) {
    throw new CampaignOptionsError('campaigns', `${campaigns} is not a whole number from 1 to 9999`);
  }
  const epochMs = Date.parse(epoch);
  if (Number.isNaN(epochMs)) throw new CampaignOptionsError('epoch', `${JSON.stringify(epoch)} is not an ISO-8601 date`);
  return { users, seed, campaigns, epoch: Math.floor(epochMs / 1000) };
}

// ---------------------------------------------------------------------------------------------
// Randomness

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed from several integers (each taken as 64 bits, so huge indexes stay distinct). */
function deriveSeed(...parts: readonly number[]): number {
  let h = 0x243f6a88;
  for (const part of parts) {
    h = fmix32((h ^ (part >>> 0)) + 0x9e3779b9);
    h = fmix32((h ^ (Math.floor(part / 2 ** 32) >>> 0)) + 0x9e3779b9);
  }
  return h;
}

// Separate streams so campaign, user and block choices never share random numbers.
const CAMPAIGN_STREAM = 1;
const USER_STREAM = 2;
const BLOCK_STREAM = 3;

/** mulberry32: tiny, fast, and good enough for test data. */
class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** Uniform whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** One of `items`; the type admits non-empty lists only, so the index is always in range. */
  pick<T>(items: readonly [T, ...T[]]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  /** `count` distinct numbers from [0, size), in ascending order. */
  distinct(count: number, size: number): number[] {
    // Rejection sampling: count is small here (at most 6), so it ends quickly.
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(this.int(0, size - 1));
    return [...chosen].sort((a, b) => a - b);
  }

  /** `count` distinct numbers from [0, size), in the order drawn. */
  ordered(count: number, size: number): number[] {
    const chosen: number[] = [];
    while (chosen.length < count) {
      const value = this.int(0, size - 1);
      if (!chosen.includes(value)) chosen.push(value);
    }
    return chosen;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const pad = (value: number, width: number) => String(value).padStart(width, '0');
const campaignId = (campaign: number) => `CMP-${pad(campaign, 4)}`;
const userId = (user: number) => `USR-${pad(user, 6)}`;
const taskId = (campaign: number, task: number) => `TASK-${pad(campaign, 4)}-${pad(task, 2)}`;

/** Epoch seconds → `2024-01-01T00:00:00Z` (whole seconds, so no milliseconds). */
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Whole cents → money. Division of an integer by 100 gives the double nearest the decimal, e.g. 12.34. */
const money = (cents: number) => cents / 100;

// ---------------------------------------------------------------------------------------------
// Campaigns

const TITLE_OPENERS = ['Spring', 'Summer', 'Autumn', 'Winter', 'Weekend', 'Holiday', 'Launch', 'Loyalty', 'Referral', 'Explorer'] as const;
const TITLE_THEMES = ['Streak', 'Challenge', 'Quest', 'Sprint', 'Marathon', 'Bonus Hunt', 'Rewards Week', 'Kickoff'] as const;

/** A campaign with the numbers user generation needs in exact form (seconds, cents). */
interface CampaignPlan {
  readonly item: CampaignInfoItem;
  readonly number: number;
  readonly createdAt: number;
  readonly endsAt: number;
  readonly tasks: readonly { readonly taskID: string; readonly rewardCents: number }[];
}

function planCampaigns(settings: Settings): CampaignPlan[] {
  return Array.from({ length: settings.campaigns }, (_, index) => planCampaign(index + 1, settings));
}

function planCampaign(number: number, settings: Settings): CampaignPlan {
  const random = new Random(deriveSeed(settings.seed, CAMPAIGN_STREAM, number));
  // Launches spread over the first two months, lives of one to three months: the campaigns
  // overlap, and user-campaign creation days spread over many partitions.
  const createdAt = settings.epoch + random.int(0, 59) * DAY + random.int(0, DAY - 1);
  const life = random.int(30, 90) * DAY;
  const endsAt = createdAt + life;
  const taskCount = random.int(2, 6);
  // Deadlines from a week after launch to the end, in task order.
  const deadlines = Array.from({ length: taskCount }, () => createdAt + random.int(7 * DAY, life)).sort((a, b) => a - b);
  // Rewards from 0.50 to 50.00, drawn in cents so sums stay exact.
  const tasks = deadlines.map((deadline, index) => ({ taskID: taskId(number, index + 1), rewardCents: random.int(50, 5000), deadline }));
  const item: CampaignInfoItem = {
    campaignID: campaignId(number),
    title: `${random.pick(TITLE_OPENERS)} ${random.pick(TITLE_THEMES)}`,
    campaignTasks: tasks.map((task) => ({ taskID: task.taskID, rewardAmount: money(task.rewardCents), taskDeadline: iso(task.deadline) })),
    // Users may claim rewards for two weeks after the campaign ends.
    rewardClaimDeadline: iso(endsAt + 14 * DAY),
    endsAtTimestamp: endsAt,
    createdAt: iso(createdAt),
    // Campaigns get edited in their first days.
    updatedAt: iso(createdAt + random.int(0, 3 * DAY)),
  };
  return { item, number, createdAt, endsAt, tasks: tasks.map(({ taskID, rewardCents }) => ({ taskID, rewardCents })) };
}

// ---------------------------------------------------------------------------------------------
// User-campaigns

/** What a user-campaign looks like, decided before its details are drawn. */
type Shape = 'empty' | 'orphan' | 'regular';

// Edge-case quotas. In every block of 20 consecutive users, the first enrolment of two users is
// 'empty' and of one user 'orphan', so any run of 20 users or more contains both cases and their
// share does not swing with the seed. The other user-campaigns draw their shape at random, at
// rates that bring the totals to the target shares (users enrol in 2 campaigns on average).
const BLOCK_USERS = 20;
const FORCED_EMPTY = 2;
const FORCED_ORPHAN = 1;
const EMPTY_SHARE = 0.1;
const ORPHAN_SHARE = 0.03;
const ENROLMENTS_PER_BLOCK = BLOCK_USERS * 2;
const RANDOM_PER_BLOCK = ENROLMENTS_PER_BLOCK - FORCED_EMPTY - FORCED_ORPHAN;
const RANDOM_EMPTY_RATE = (EMPTY_SHARE * ENROLMENTS_PER_BLOCK - FORCED_EMPTY) / RANDOM_PER_BLOCK;
const RANDOM_ORPHAN_RATE = (ORPHAN_SHARE * ENROLMENTS_PER_BLOCK - FORCED_ORPHAN) / RANDOM_PER_BLOCK;

/** Share of regular user-campaigns whose user did every task (then all are VALIDATED). */
const COMPLETER_RATE = 0.2;
/** Share of unfinished, started user-campaigns that the campaign's end marked EXPIRED. */
const EXPIRED_RATE = 0.15;

/** The shape forced on a user's first enrolment by the block quotas, if any. */
function forcedShape(user: number, seed: number): Shape | undefined {
  const block = Math.floor(user / BLOCK_USERS);
  const [orphanSlot, ...emptySlots] = new Random(deriveSeed(seed, BLOCK_STREAM, block)).ordered(FORCED_ORPHAN + FORCED_EMPTY, BLOCK_USERS);
  const slot = user % BLOCK_USERS;
  if (slot === orphanSlot) return 'orphan';
  if (emptySlots.includes(slot)) return 'empty';
  return undefined;
}

function randomShape(random: Random): Shape {
  const draw = random.next();
  if (draw < RANDOM_EMPTY_RATE) return 'empty';
  if (draw < RANDOM_EMPTY_RATE + RANDOM_ORPHAN_RATE) return 'orphan';
  return 'regular';
}

function* userCampaignsOf(user: number, plans: readonly CampaignPlan[], seed: number): Generator<UserCampaignItem> {
  const random = new Random(deriveSeed(seed, USER_STREAM, user));
  const forced = forcedShape(user, seed);
  const enrolments = Math.min(random.int(1, 3), plans.length);
  const campaigns = random.distinct(enrolments, plans.length);
  for (const [position, campaign] of campaigns.entries()) {
    const shape = position === 0 && forced !== undefined ? forced : randomShape(random);
    yield userCampaign(userId(user + 1), plans[campaign] as CampaignPlan, shape, random);
  }
}

/** A progress entry with the time of the user's last action on it (undefined: none yet). */
interface Entry {
  readonly progress: TaskProgress;
  readonly rewardCents: number;
  readonly at: number | undefined;
}

function userCampaign(userID: string, plan: CampaignPlan, shape: Shape, random: Random): UserCampaignItem {
  // Users join while at least a fifth of the campaign is left, so they have time to act.
  const createdAt = plan.createdAt + random.int(0, Math.floor((plan.endsAt - plan.createdAt) * 0.8));
  const base = { userID, campaignID: plan.item.campaignID };
  if (shape === 'empty') {
    return { ...base, progressDetails: [], userCampaignProgressState: 'ENROLLED', totalTaskRewardsEarned: 0, createdAt: iso(createdAt), updatedAt: iso(createdAt) };
  }

  // Actions fall within three weeks of joining and never after the campaign ends.
  const actionTime = () => random.int(createdAt + MINUTE, Math.min(createdAt + 21 * DAY, plan.endsAt));
  const taskCount = plan.tasks.length;
  const completer = shape === 'regular' && random.chance(COMPLETER_RATE);
  // An orphan user-campaign never covers every task, so it cannot look complete.
  const covered = completer ? taskCount : random.int(shape === 'orphan' ? 0 : 1, shape === 'orphan' ? taskCount - 1 : taskCount);
  const entries: Entry[] = random.distinct(covered, taskCount).map((index) => {
    const task = plan.tasks[index] as CampaignPlan['tasks'][number];
    return progressEntry(task.taskID, task.rewardCents, completer ? 'VALIDATED' : randomTaskState(random), random, actionTime);
  });
  if (shape === 'orphan') {
    entries.push(progressEntry(taskId(plan.number, ORPHAN_TASK_NUMBER), 0, random.chance(0.5) ? 'IN_PROGRESS' : 'REJECTED', random, actionTime));
  }

  const validatedTasks = entries.filter((entry) => entry.progress.userCampaignTaskProgressState === 'VALIDATED').length;
  // Orphan entries are never VALIDATED, so this counts the campaign's own tasks only.
  const state: UserCampaignProgressState = validatedTasks === taskCount ? 'COMPLETED' : random.chance(EXPIRED_RATE) ? 'EXPIRED' : 'IN_PROGRESS';
  const lastAction = Math.max(createdAt, ...entries.map((entry) => entry.at ?? createdAt));
  // Expiry is recorded when the campaign ends, after any action.
  const updatedAt = state === 'EXPIRED' ? Math.max(lastAction, plan.endsAt) : lastAction;
  const totalCents = entries.reduce((sum, entry) => sum + entry.rewardCents, 0);
  return {
    ...base,
    progressDetails: entries.map((entry) => entry.progress),
    userCampaignProgressState: state,
    totalTaskRewardsEarned: money(totalCents),
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
  };
}

function randomTaskState(random: Random): TaskProgressState {
  const draw = random.next();
  if (draw < 0.1) return 'NOT_STARTED';
  if (draw < 0.4) return 'IN_PROGRESS';
  if (draw < 0.85) return 'VALIDATED';
  return 'REJECTED';
}

/** One progress entry; optional attributes are left out (not undefined) when they do not apply. */
function progressEntry(taskID: string, taskRewardCents: number, state: TaskProgressState, random: Random, actionTime: () => number): Entry {
  switch (state) {
    case 'NOT_STARTED':
      return { progress: { taskID, userCampaignTaskProgressState: state, rewardEarned: 0 }, rewardCents: 0, at: undefined };
    case 'IN_PROGRESS':
      return { progress: { taskID, userCampaignTaskProgressState: state, rewardEarned: 0 }, rewardCents: 0, at: actionTime() };
    case 'VALIDATED': {
      const at = actionTime();
      return {
        progress: { taskID, userCampaignTaskProgressState: state, validatedAt: iso(at), rewardEarned: money(taskRewardCents) },
        rewardCents: taskRewardCents,
        at,
      };
    }
    case 'REJECTED':
      return {
        progress: { taskID, userCampaignTaskProgressState: state, validationFailureReason: random.pick(VALIDATION_FAILURE_REASONS), rewardEarned: 0 },
        rewardCents: 0,
        at: actionTime(),
      };
  }
}
