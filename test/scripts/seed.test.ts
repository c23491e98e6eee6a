import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type CampaignInfoItem, generateCampaignInfo, generateUserCampaigns, type UserCampaignItem } from '../../lambda/shared/campaigns';
import { startLocalDynamoDB } from '../../scripts/local/dynamodb';
import { readCheckpoint } from '../../scripts/seed/checkpoint';
import { TYPESCRIPT_HOOK } from '../helpers/cli';
import { scanAll } from '../helpers/local-dynamodb';

const ROOT = join(__dirname, '..', '..');
const SAMPLE = join(ROOT, 'data', 'sample', 'online-retail-sample.csv');
const SEED = [...TYPESCRIPT_HOOK, join(ROOT, 'scripts', 'seed.ts')];
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true' };
let workdir: string;

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), 'dynalake-seed-cli-'));
});
afterEach(() => {
  rmSync(workdir, { recursive: true, force: true });
});

/** Runs `npm run seed -- args` the way npm does (the swc hook), and waits for it. */
function seed(...args: string[]) {
  return spawnSync(process.execPath, [...SEED, ...args], { cwd: workdir, env: ENV, encoding: 'utf8', timeout: 120_000 });
}

/** A larger file for interruption tests: the sample, repeated under new invoice numbers. */
function repeatedSample(copies: number): { path: string; rows: number } {
  const [header, ...rows] = readFileSync(SAMPLE, 'latin1').split('\r\n');
  const body = Array.from({ length: copies }, (_, copy) => rows.map((row) => row.replace(/^(C?)(\d+)/, (_m, c: string, n: string) => `${c}${Number(n) + copy * 100_000}`))).flat();
  const path = join(workdir, 'repeated.csv');
  writeFileSync(path, Buffer.from([header, ...body].join('\r\n'), 'latin1'));
  return { path, rows: body.length };
}

/** Items in a persisted local DynamoDB folder, once no seed process holds it. */
async function itemsIn(folder: string, tableName = 'dynalake-dev-orders') {
  const local = await startLocalDynamoDB({ path: folder });
  try {
    return await scanAll(local, tableName);
  } finally {
    await local.close();
  }
}

async function waitForCheckpoint(path: string, child: ChildProcess, minimumRows: number): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 50) {
    if (child.exitCode !== null) throw new Error(`seed exited (${child.exitCode}) before the checkpoint reached ${minimumRows} rows`);
    if (existsSync(path) && (readCheckpoint(path)?.rowsDone ?? 0) >= minimumRows) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no checkpoint progress within 60 s');
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('npm run seed', () => {
  it('explains every option with --help', () => {
    const result = seed('--help');
    expect(result.status).toBe(0);
    for (const option of ['--file', '--table', '--stack', '--endpoint', '--region', '--local', '--limit', '--dry-run', '--concurrency', '--encoding', '--rejects', '--resume', '--json', '--dataset', '--users']) {
      expect(result.stdout).toContain(option);
    }
  });

  it('loads the sample into an embedded DynamoDB and prints the summary as JSON on stdout', async () => {
    const result = seed('--file', SAMPLE, '--local', join(workdir, 'db'), '--rejects', join(workdir, 'rejects.csv'), '--json');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    expect(summary).toMatchObject({ read: 1071, written: 1071, rejected: 0, skipped: 0 });
    expect(summary.elapsedMs).toBeGreaterThan(0);
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
    expect(result.stderr).toContain('read 1,071 = written 1,071 + rejected 0');
    expect(await itemsIn(join(workdir, 'db'))).toHaveLength(1071);
  });

  it('exits 2 and says where to get the data when the file is missing', () => {
    const result = seed('--file', 'data/data.csv', '--local', join(workdir, 'db'));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('data/data.csv: no such file');
    expect(result.stderr).toContain('Kaggle "E-Commerce Data"');
    expect(result.stderr).toContain('npm run sample -- --out data/data.csv');
  });

  it('exits 2 naming the missing column and the header found', () => {
    const file = join(workdir, 'no-country.csv');
    writeFileSync(file, 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\r\n536365,85123A,X,6,12/1/2010 8:26,2.55,17850');
    const result = seed('--file', file, '--dry-run');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${file}:1: missing column Country; header found: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID`);
  });

  it('exits 2 on a bad option value, naming the option', () => {
    const result = seed('--file', SAMPLE, '--concurrency', 'lots', '--dry-run');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--concurrency: "lots" is not a whole number >= 1');
  });

  it('exits 2 with the ways to name a target when there is none', () => {
    const result = seed('--file', SAMPLE);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no target table: pass --table NAME, --stack NAME, or --local [DIR]');
  });

  it('exits 1 with the resume command when DynamoDB cannot be reached', () => {
    const result = seed('--file', SAMPLE, '--table', 'orders', '--endpoint', 'http://127.0.0.1:9', '--rejects', join(workdir, 'rejects.csv'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DynamoDB refused a batch for table orders');
    expect(result.stderr).toMatch(/resume with: npm run seed -- .*--resume/);
  });

  it('finishes a load killed with SIGKILL when rerun with --resume: every row, once, under its own key', async () => {
    const { path, rows } = repeatedSample(6);
    const db = join(workdir, 'db');
    const args = ['--file', path, '--local', db, '--concurrency', '2'];
    const child = spawn(process.execPath, [...SEED, ...args], { cwd: workdir, env: ENV, stdio: 'ignore' });
    await waitForCheckpoint(join(workdir, 'repeated.csv.rejects.checkpoint.json'), child, 1500);
    child.kill('SIGKILL');
    await exitOf(child);
    expect(readCheckpoint(join(workdir, 'repeated.csv.rejects.checkpoint.json'))?.complete).toBe(false);

    const resumed = seed(...args, '--resume', '--json');
    expect(resumed.status).toBe(0);
    const summary = JSON.parse(resumed.stdout) as Record<string, number>;
    expect(summary.skipped).toBeGreaterThanOrEqual(1500);
    expect(summary.read).toBe(rows);
    expect(summary.read).toBe((summary.written ?? 0) + (summary.rejected ?? 0) + (summary.skipped ?? 0));
    const items = await itemsIn(db);
    expect(items).toHaveLength(rows);
    expect(new Set(items.map((item) => `${item.InvoiceNo?.S ?? ''}/${item.LineNo?.N ?? ''}`)).size).toBe(rows);
  }, 120_000);

  it('stops cleanly on Ctrl-C, exits 130 and prints the resume command', async () => {
    const { path, rows } = repeatedSample(6);
    const db = join(workdir, 'db');
    const args = ['--file', path, '--local', db, '--concurrency', '2'];
    const child = spawn(process.execPath, [...SEED, ...args], { cwd: workdir, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitForCheckpoint(join(workdir, 'repeated.csv.rejects.checkpoint.json'), child, 1000);
    child.kill('SIGINT');
    expect((await exitOf(child)).code).toBe(130);
    expect(stderr).toContain(`resume with: npm run seed -- ${args.join(' ')} --resume`);

    expect(seed(...args, '--resume').status).toBe(0);
    expect(await itemsIn(db)).toHaveLength(rows);
  }, 120_000);

  it('writes generated campaigns to both campaign tables, and reports what the tables hold', async () => {
    const db = join(workdir, 'db');
    const result = seed('--dataset', 'campaigns', '--users', '40', '--local', db, '--json');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    const campaigns = (await itemsIn(db, 'dynalake-dev-campaign-info')).map((item) => unmarshall(item) as CampaignInfoItem);
    const userCampaigns = (await itemsIn(db, 'dynalake-dev-user-campaign')).map((item) => unmarshall(item) as UserCampaignItem);

    // From the input alone: one campaign per 20 users but at least 3, so 3; each of the 40 users
    // enrolled in 1 to 3 of them; 2 empty enrolments forced in each block of 20 users.
    const campaignIds = ['CMP-0001', 'CMP-0002', 'CMP-0003'];
    expect(campaigns.map((campaign) => campaign.campaignID).sort()).toEqual(campaignIds);
    const enrolments = new Map<string, number>();
    for (const userCampaign of userCampaigns) enrolments.set(userCampaign.userID, (enrolments.get(userCampaign.userID) ?? 0) + 1);
    expect([...enrolments.keys()].sort()).toEqual(Array.from({ length: 40 }, (_, index) => `USR-${String(index + 1).padStart(6, '0')}`));
    expect([...enrolments.values()].filter((count) => count < 1 || count > 3)).toEqual([]);
    expect(userCampaigns.filter((userCampaign) => !campaignIds.includes(userCampaign.campaignID))).toEqual([]);
    const emptyProgress = userCampaigns.filter((userCampaign) => userCampaign.progressDetails.length === 0).length;
    expect(emptyProgress).toBeGreaterThanOrEqual(4);

    // Item for item what the generator makes for 40 users and the default seed.
    const byKey = (a: UserCampaignItem, b: UserCampaignItem) => `${a.userID}/${a.campaignID}`.localeCompare(`${b.userID}/${b.campaignID}`);
    expect([...campaigns].sort((a, b) => a.campaignID.localeCompare(b.campaignID))).toEqual(generateCampaignInfo({ users: 40 }));
    expect([...userCampaigns].sort(byKey)).toEqual([...generateUserCampaigns({ users: 40 })].sort(byKey));

    // The summary counts what the tables hold.
    const tasks = campaigns.reduce((sum, campaign) => sum + campaign.campaignTasks.length, 0);
    expect(summary).toMatchObject({ campaigns: 3, tasks, userCampaigns: userCampaigns.length, emptyProgress, written: 3 + userCampaigns.length });
  });
});
