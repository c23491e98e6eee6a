/**
 * npm run diff on a real repository: a temporary git repository holding this project's committed
 * files, with real commits that widen an IAM policy, replace a table by changing its key and change
 * only a Glue script, each synthesized once by the real cdk CLI in a real worktree.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, type DiffReport, failsOn } from '../../scripts/diff/classify';
import { renderMarkdown, renderText } from '../../scripts/diff/render';
import { findRepository, lockfileHash, prepareRef, type Repository, resolveRef, type SynthesizedApp, type SynthOptions, synthesizeRef } from '../../scripts/diff/synth';
import { TYPESCRIPT_HOOK } from '../helpers/cli';

const ROOT = join(__dirname, '..', '..');
const CLI = [...TYPESCRIPT_HOOK, join(ROOT, 'scripts', 'diff.ts')];
const GIT_ENV = { GIT_AUTHOR_NAME: 'dynalake test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'dynalake test', GIT_COMMITTER_EMAIL: 'test@example.com' };

let repo = '';
let cacheDir = '';
let repository: Repository;
let options: SynthOptions;
const log: string[] = [];
/** The commits, in history order: each adds one change to the one before. */
const commits = { base: '', iam: '', table: '', asset: '' };
const apps: Partial<Record<keyof typeof commits, SynthesizedApp>> = {};

function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } }).trim();
}

/** Replaces one anchor in a file of the repository, failing loudly when the anchor moved. */
function edit(file: string, anchor: string | RegExp, replacement: string): void {
  const path = join(repo, file);
  const text = readFileSync(path, 'utf8');
  const edited = text.replace(anchor, replacement);
  if (edited === text) throw new Error(`${file}: ${String(anchor)} not found; update this test's edit to the new source`);
  writeFileSync(path, edited);
}

function commit(message: string): string {
  git('add', '-A');
  git('commit', '--quiet', '-m', message);
  return git('rev-parse', 'HEAD');
}

function app(name: keyof typeof commits): SynthesizedApp {
  const synthesized = apps[name];
  if (synthesized === undefined) throw new Error(`${name} was not synthesized`);
  return synthesized;
}

function worktrees(): string[] {
  return git('worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '));
}

beforeAll(async () => {
  repo = realpathSync(mkdtempSync(join(tmpdir(), 'dynalake-diff-repo-')));
  cacheDir = mkdtempSync(join(tmpdir(), 'dynalake-diff-cache-'));
  // The committed files only: the working tree of this checkout may hold someone's work in progress.
  execFileSync('bash', ['-c', `git archive HEAD | tar -x -C '${repo}'`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');
  git('init', '--quiet', '-b', 'main');
  // node_modules/ in .gitignore matches folders only, not this symlink.
  writeFileSync(join(repo, '.git', 'info', 'exclude'), 'node_modules\n');
  commits.base = commit('base: this project as committed');

  // (1) Widen an IAM policy: the sales_star_schema job's role may now delete uploads.
  edit('lib/app.ts', /^/, "import { PolicyStatement } from 'aws-cdk-lib/aws-iam';\n");
  edit(
    'lib/app.ts',
    '  addComplianceChecks(app);',
    "  pipeline.jobs.sales_star_schema.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [storage.uploads.table.tableArn] }));\n  addComplianceChecks(app);",
  );
  commits.iam = commit('widen: sales_star_schema may delete uploads');

  // (2) Replace a table: the uploads table's partition key changes name.
  edit('lib/stacks/storage-stack.ts', /(new StreamedTable\(this, 'Uploads', \{[\s\S]*?partitionKey: \{ name: )'id'/, "$1'rowId'");
  commits.table = commit('replace: uploads keyed by rowId');

  // (3) Change only code. A Glue script is an asset, like a Lambda's bundle: only its hash moves.
  // The stream-to-lake handler changes too (an export esbuild keeps, so the bundle's hash moves).
  const appendTo = (file: string, text: string) => {
    writeFileSync(join(repo, file), `${readFileSync(join(repo, file), 'utf8')}${text}`);
  };
  appendTo('glue-scripts/dataset_to_lake.py', '\n# reviewed\n');
  appendTo('lambda/stream-to-lake.ts', "\nexport const reviewed = 'reviewed';\n");
  commits.asset = commit('code: dataset_to_lake.py and the stream-to-lake handler');

  repository = findRepository(repo);
  options = { appDir: repo, cacheDir, log: (line) => log.push(line) };
  const synth = async (name: keyof typeof commits) => {
    apps[name] = await synthesizeRef(repository, resolveRef(repository, 'base', commits[name]), options);
  };
  // Two at a time: this machine has two cores.
  await Promise.all([synth('base'), synth('iam')]);
  await Promise.all([synth('table'), synth('asset')]);
}, 240_000);

afterAll(() => {
  if (repo !== '') rmSync(repo, { recursive: true, force: true });
  if (cacheDir !== '') rmSync(cacheDir, { recursive: true, force: true });
});

describe('synthesizing refs', () => {
  it('finds both stacks through the manifest and leaves no worktree behind', () => {
    expect([...app('base').stacks.keys()].sort()).toEqual(['dynalake-dev-pipeline', 'dynalake-dev-storage']);
    expect(worktrees()).toHaveLength(1);
  });

  it("gives the base the working tree's node_modules when the lock files are the same", () => {
    expect(log.some((line) => line.includes("the working tree's node_modules (same package-lock.json)"))).toBe(true);
    expect(log.some((line) => line.includes('npm ci'))).toBe(false);
  });

  it('uses a cached install keyed by the sha256 of a different package-lock.json, without npm ci', async () => {
    git('switch', '--quiet', '-c', 'other-lock');
    edit('package-lock.json', /"name": "dynalake"/, '"name": "dynalake-other-lock"');
    const otherLock = commit('a different lock file');
    git('switch', '--quiet', 'main');
    const lockfile = join(cacheDir, 'other-lock.json');
    writeFileSync(lockfile, execFileSync('git', ['show', `${otherLock}:package-lock.json`], { cwd: repo }));
    const entry = join(cacheDir, lockfileHash(lockfile));
    mkdirSync(entry);
    symlinkSync(join(ROOT, 'node_modules'), join(entry, 'node_modules'), 'dir');

    const messages: string[] = [];
    const prepared = await prepareRef(repository, resolveRef(repository, 'base', otherLock), { ...options, log: (line) => messages.push(line) });
    try {
      expect(realpathSync(join(prepared.dir, 'node_modules'))).toBe(realpathSync(join(ROOT, 'node_modules')));
      expect(messages.join('\n')).toMatch(/cached node_modules [0-9a-f]{12}/);
      expect(messages.join('\n')).not.toContain('npm ci');
      expect(worktrees()).toHaveLength(2);
    } finally {
      prepared.discard();
    }
    expect(existsSync(prepared.dir)).toBe(false);
    expect(worktrees()).toHaveLength(1);
    expect(existsSync(join(ROOT, 'node_modules', 'aws-cdk-lib'))).toBe(true);
  }, 30_000);

  it('reports a failing synth with its output and still removes the worktree', async () => {
    git('switch', '--quiet', '-c', 'broken');
    edit('bin/app.ts', 'const app = new App();', "throw new Error('broken on purpose');\nconst app = new App();");
    const broken = commit('a broken app');
    git('switch', '--quiet', 'main');
    await expect(synthesizeRef(repository, resolveRef(repository, 'base', broken), options)).rejects.toMatchObject({
      code: 'LOAD_FAILED',
      message: expect.stringMatching(/cdk synth failed[\s\S]*broken on purpose/) as unknown,
    });
    expect(worktrees()).toHaveLength(1);
  }, 60_000);
});

describe('classification of real commits', () => {
  let widen: DiffReport;
  let replace: DiffReport;
  let assetOnly: DiffReport;
  beforeAll(() => {
    widen = classify(app('base'), app('iam'));
    replace = classify(app('iam'), app('table'));
    assetOnly = classify(app('table'), app('asset'));
  });

  it('lists the widened statement as a broadening security change, and nothing destructive', () => {
    const pipeline = widen.stacks.find((stack) => stack.name === 'dynalake-dev-pipeline');
    expect(pipeline?.broadened).toBe(true);
    expect(pipeline?.security).toContainEqual(expect.objectContaining({ kind: 'statement', sign: '+', effect: 'Allow', actions: expect.stringContaining('dynamodb:DeleteItem') as unknown, resources: expect.stringContaining('Uploads/Table.Arn') as unknown }));
    expect(widen.counts).toMatchObject({ security: 1, destructive: 0, stateful: 0, assetOnly: 0 });
    expect(renderText(widen)).toMatch(/^Security changes[^\n]*\n {2}dynalake-dev-pipeline — permissions broadened\n {4}\+ Allow [^\n]*dynamodb:DeleteItem on \$\{dynalake-dev-storage\/Uploads\/Table\.Arn\} to AWS:\$\{SalesStarSchema\/Role\}/m);
  });

  it('marks the table whose key changed as a stateful replacement, caused by KeySchema', () => {
    const table = replace.stacks.flatMap((stack) => stack.resources).find((change) => change.type === 'AWS::DynamoDB::Table');
    expect(table).toMatchObject({ stack: 'dynalake-dev-storage', path: 'Uploads/Table', impact: 'replace', category: 'destructive', stateful: 'its items', retained: true });
    expect(table?.causes).toContain('KeySchema');
    expect(table?.details).toContain('KeySchema[0].AttributeName: "id" → "rowId"');
    expect(replace.counts.stateful).toBe(1);
    expect(renderText(replace)).toMatch(/^Replacements and deletions\n {2}dynalake-dev-storage\n {4}⚠ STATEFUL {2}\[-\/\+\] AWS::DynamoDB::Table Uploads\/Table \(UploadsTable[0-9A-F]+\) will be REPLACED \(caused by KeySchema\)/m);
  });

  it('says CloudFormation will refuse the key change while the pipeline imports the table (strong references: issue 13, defect 8)', () => {
    const table = replace.stacks.flatMap((stack) => stack.resources).find((change) => change.type === 'AWS::DynamoDB::Table');
    // The uploads table has no stream bridge: the pipeline imports its name and ARN.
    expect(table?.exportsInUse?.map((found) => found.value).sort()).toEqual(['Arn', 'Ref']);
    for (const found of table?.exportsInUse ?? []) {
      expect(found.importedBy).toEqual(['dynalake-dev-pipeline']);
      expect(found.exportName).toMatch(/^dynalake-dev-storage:ExportsOutput(Ref|FnGetAtt)UploadsTable/);
    }
    expect(replace.counts.blocked).toBe(1);
    expect(renderText(replace)).toMatch(/^ {8}✋ CloudFormation will REFUSE this: dynalake-dev-pipeline imports its (Arn, Ref|Ref, Arn) \(dynalake-dev-storage:ExportsOutput/m);
    // Before the fix the pipeline read the table through Fn::GetStackOutput: nothing was imported, and
    // the replaced table's new name and ARN never reached the unchanged pipeline.
    const pipeline = app('table').stacks.get('dynalake-dev-pipeline');
    expect(JSON.stringify(pipeline)).not.toContain('Fn::GetStackOutput');
  });

  it('collapses a change of only a Glue script and a Lambda handler into one line, with no other section', () => {
    const changed = assetOnly.stacks.flatMap((stack) => stack.resources);
    expect(changed.map((change) => change.path)).toContain('OrdersToLake/Job');
    expect(changed.map((change) => change.type)).toContain('AWS::Lambda::Function');
    const n = changed.length;
    expect(assetOnly.counts).toEqual({ stacks: 2, changes: n, security: 0, destructive: 0, stateful: 0, blocked: 0, assetOnly: n, other: 0 });
    const lines = renderText(assetOnly).trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual([`dynalake diff ${commits.table.slice(0, 7)}..${commits.asset.slice(0, 7)}: 2 stacks, ${n === 1 ? '1 change' : `${String(n)} changes`} — ${String(n)} asset-only`, '']);
    expect(lines.slice(2)).toEqual([expect.stringMatching(/^\d+ resources? changed only asset hashes \(code or script content\): .*OrdersToLake\/Job \(dynalake-dev-pipeline\)/)]);
  });

  it.each([
    ['never', [false, false, false]],
    ['destructive', [false, true, false]],
    ['security', [true, true, false]],
    ['any', [true, true, true]],
  ] as const)('--fail-on %s fails for [widen, replace, asset-only] = %j', (failOn, expected) => {
    expect([widen, replace, assetOnly].map((report) => failsOn(report, failOn))).toEqual(expected);
  });

  it('renders all three at once as markdown: summary, headings, loud stateful line, collapsible rest, fenced blocks', () => {
    const all = classify(app('base'), app('asset'));
    const markdown = renderMarkdown(all);
    const lines = markdown.split('\n');
    const n = all.counts.assetOnly;
    expect(lines[0]).toBe(`**dynalake diff ${commits.base.slice(0, 7)}..${commits.asset.slice(0, 7)}: 2 stacks, ${String(n + 2)} changes — 1 security, 1 replacement or deletion (1 stateful!, 1 refused by CloudFormation!), ${String(n)} asset-only, permissions broadened**`);
    const headings = lines.filter((line) => line.startsWith('### '));
    expect(headings).toEqual(['### Security changes', '### Replacements and deletions', '### Other changes']);
    expect(markdown).toContain('| + | Allow | dynamodb:DeleteItem | ${dynalake-dev-storage/Uploads/Table.Arn} | AWS:${SalesStarSchema/Role} |');
    expect(markdown).toMatch(/^- ⚠️ \*\*STATEFUL: `AWS::DynamoDB::Table` `Uploads\/Table` will be REPLACED \(caused by `KeySchema`\)\*\*: a new, empty one takes its place/m);
    expect(markdown).toMatch(/<details><summary>the resource of the security changes above, in 1 stack<\/summary>\n\n```\ndynalake-dev-pipeline\n\[~\] AWS::IAM::Policy SalesStarSchema\/Role\/DefaultPolicy/);
    expect(markdown).toMatch(/```\n\n<\/details>\n\n📦 \d+ resources? changed only asset hashes \(code or script content\): .*`OrdersToLake\/Job` \(dynalake-dev-pipeline\)/);
    expect(markdown.split('```').length % 2).toBe(1);
  });
});

describe('npm run diff (the CLI)', () => {
  function cli(...args: string[]) {
    return spawnSync(process.execPath, [...CLI, ...args], { cwd: repo, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), DYNALAKE_DIFF_CACHE_DIR: cacheDir } });
  }

  it('diffs a base against the working tree as markdown and exits 3 on a replaced table', () => {
    const run = cli('--base', 'main~3', '--format', 'markdown');
    expect(run.stderr).toContain("worktree with the working tree's node_modules");
    expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^\\*\\*dynalake diff main~3@${commits.base.slice(0, 7)}\\.\\.working tree: 2 stacks, \\d+ changes — 1 security, 1 replacement or deletion \\(1 stateful!, 1 refused by CloudFormation!\\), \\d+ asset-only, permissions broadened\\*\\*$`));
    expect(run.stdout).toContain('⚠️ **STATEFUL: `AWS::DynamoDB::Table` `Uploads/Table` will be REPLACED');
    expect(run.stderr).toContain('diff: exit 3: changes cross --fail-on destructive');
    expect(run.status).toBe(3);
    expect(worktrees()).toHaveLength(1);
  }, 120_000);

  it('exits 0 with --fail-on never and writes the report to --output; a ref without cdk.json has no stacks', () => {
    const empty = git('commit-tree', git('mktree'), '-m', 'no app at all');
    const output = join(cacheDir, 'report.txt');
    const run = cli('--base', empty, '--head', empty, '--fail-on', 'never', '--output', output);
    expect(run.stderr).toContain('has no cdk.json: no stacks on that side');
    expect(run.stdout).toBe('');
    expect(readFileSync(output, 'utf8')).toBe(`dynalake diff ${empty.slice(0, 7)}..${empty.slice(0, 7)}: 0 stacks, no changes\n`);
    expect(run.status).toBe(0);
  });

  it('explains every option with --help', () => {
    const run = cli('--help');
    expect(run.status).toBe(0);
    for (const option of ['--base', '--head', '--format', '--fail-on', '--output', '--cache-dir', 'Exit status']) expect(run.stdout).toContain(option);
  });

  it.each([
    [['--base', 'main', '--format', 'xml'], '--format: "xml" is not one of text, markdown'],
    [['--base', 'main', '--fail-on', 'sometimes'], '--fail-on: "sometimes" is not one of destructive, security, any, never'],
    [['--base', 'no-such-branch'], '--base: "no-such-branch" is not a commit of'],
    [['--base', 'main', '--head', 'nope'], '--head: "nope" is not a commit of'],
    [['--format', 'text'], '--base REF is required'],
    [['--base', 'main', '--colour'], "Unknown option '--colour'"],
  ])('exits 2 on bad arguments: %j', (args, message) => {
    const run = cli(...args);
    expect(run.stderr).toContain(`error: ${message}`);
    expect(run.status).toBe(2);
  });

  it('removes its worktrees when stopped with Ctrl-C, exit 130', async () => {
    const child: ChildProcess = spawn(process.execPath, [...CLI, '--base', 'main~1'], { cwd: repo, env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('worktree with')) resolve();
      });
      child.once('exit', () => {
        reject(new Error(`exited before preparing its worktree:\n${stderr}`));
      });
    });
    expect(worktrees()).toHaveLength(2);
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(worktrees()).toHaveLength(1);
  }, 60_000);
});
