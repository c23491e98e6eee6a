/** .github/workflows/pull-request.yml: what runs on a pull request, and with which rights. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { conditionHolds, type RunState } from '../helpers/github-expression';
import { glueRuntimeVersions, type Job, readWorkflow, type Step, toolchainBeforeTests } from '../helpers/workflow-file';

const ROOT = join(__dirname, '..', '..');
const { source: SOURCE, workflow } = readWorkflow('pull-request.yml');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

const jobs = Object.entries(workflow.jobs);
const check = workflow.jobs.check as Job;
const deployed = workflow.jobs.deployed as Job;
const steps = jobs.flatMap(([, job]) => job.steps);
const runs = steps.flatMap((step) => (step.run === undefined ? [] : [step.run]));
const checkStep = (predicate: (step: Step) => boolean) => check.steps.find(predicate);

const THIS_REPOSITORY = 'dynalake-org/dynalake';
const FORK = 'someone-else/dynalake';

/** A pull-request run as the `if:` conditions see it. */
interface Situation {
  /** Where the pull request's head lives. */
  readonly from: string;
  readonly install?: 'success' | 'failure';
  /** Steps after the install that failed (lint, test). */
  readonly failedChecks?: readonly string[];
  /** What the diff step wrote to $GITHUB_OUTPUT; undefined when it did not run. */
  readonly diffExitCode?: string;
  readonly cancelled?: boolean;
  readonly diffRoleArn?: string;
}

function runState(situation: Situation): RunState {
  const install = situation.install ?? 'success';
  const steps: Record<string, unknown> = { install: { outcome: install, conclusion: install } };
  if (situation.diffExitCode !== undefined) steps.diff = { outcome: 'success', conclusion: 'success', outputs: { 'exit-code': situation.diffExitCode } };
  return {
    contexts: {
      github: { repository: THIS_REPOSITORY, base_ref: 'main', event: { pull_request: { number: 42, head: { repo: { full_name: situation.from } } } } },
      vars: situation.diffRoleArn === undefined ? {} : { DYNALAKE_DIFF_ROLE_ARN: situation.diffRoleArn },
      steps,
    },
    failed: install === 'failure' || (situation.failedChecks ?? []).length > 0,
    cancelled: situation.cancelled ?? false,
  };
}

/** Which of the situations a condition lets run, in order. */
const runsIn = (condition: string | undefined, situations: readonly Situation[]) => situations.map((situation) => conditionHolds(condition, runState(situation)));

describe('the condition evaluator these tests use', () => {
  const state = (failed: boolean, cancelled: boolean, contexts: Record<string, unknown> = {}): RunState => ({ contexts, failed, cancelled });

  it('adds success() to a condition without a status function, as GitHub does', () => {
    expect([conditionHolds("'a' == 'a'", state(false, false)), conditionHolds("'a' == 'a'", state(true, false)), conditionHolds(undefined, state(true, false))]).toEqual([true, false, false]);
  });

  it('answers success(), failure(), cancelled(), always() and !cancelled() from the run state', () => {
    const conditions = ['success()', 'failure()', 'cancelled()', 'always()', '${{ !cancelled() }}'];
    expect([state(false, false), state(true, false), state(true, true)].map((run) => conditions.map((condition) => conditionHolds(condition, run)))).toEqual([
      [true, false, false, true, true],
      [false, true, false, true, true],
      [false, false, true, true, false],
    ]);
  });

  it("compares strings ignoring case, a missing property as null equal to '', and reads hyphenated names", () => {
    const contexts = { steps: { diff: { outputs: { 'exit-code': '3' } } }, github: { repository: 'Org/Repo' } };
    const conditions = ["github.repository == 'org/repo'", "steps.diff.outputs.exit-code != ''", "steps.nope.outputs.exit-code != ''", "vars.UNSET == ''", "always() && (steps.diff.outputs.exit-code == '0' || github.repository != 'x')"];
    expect(conditions.map((condition) => conditionHolds(condition, state(false, false, contexts)))).toEqual([true, true, false, true, true]);
  });
});

describe('the pull-request workflow', () => {
  it('sets up the Python and Java of the Glue runtime before npm test, which refuses others', () => {
    expect(toolchainBeforeTests(check)).toEqual(glueRuntimeVersions());
  });

  it('runs on pull requests', () => {
    expect(Object.keys(workflow.on)).toEqual(['pull_request']);
  });

  it('grants nothing by default, and each job only what it needs', () => {
    expect(workflow.permissions).toEqual({});
    expect(check.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(deployed.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    for (const [name, job] of jobs) if (name !== 'deployed') expect(job.permissions).not.toHaveProperty(['id-token']);
  });

  it('cancels the run of a superseded push', () => {
    expect(workflow.concurrency?.group).toContain('github.event.pull_request.number');
    expect(workflow.concurrency?.['cancel-in-progress']).toBe(true);
  });

  it('checks out with full history and sets up node with the npm cache', () => {
    expect(checkStep((step) => step.uses?.startsWith('actions/checkout@') === true)?.with).toMatchObject({ 'fetch-depth': 0 });
    expect(checkStep((step) => step.uses?.startsWith('actions/setup-node@') === true)?.with).toMatchObject({ cache: 'npm' });
  });

  it('installs with npm ci, lints, tests, then diffs against the base branch as markdown', () => {
    const commands = check.steps.flatMap((step) => (step.run === undefined ? [] : [step.run.trim()]));
    const at = (pattern: RegExp) => commands.findIndex((command) => pattern.test(command));
    const order = [/^npm ci\b/, /^npm run lint$/, /^npm test$/, /npm run diff -- --base "origin\/\$BASE_REF" --format markdown/].map(at);
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(checkStep((step) => step.id === 'diff')?.env).toEqual({ BASE_REF: '${{ github.base_ref }}' });
  });

  it('keeps one sticky comment: found by its hidden marker, updated, else created', () => {
    const comment = checkStep((step) => step.uses?.startsWith('actions/github-script@') === true);
    const script = String(comment?.with?.script);
    expect(script).toContain("const marker = '<!-- dynalake-diff -->'");
    expect(script).toMatch(/github\.rest\.issues\.updateComment\([\s\S]*github\.rest\.issues\.createComment\(/);
    expect(comment?.if).toContain('!cancelled()');
    // github-script runs the script as the body of an async function: it must at least compile.
    expect(() => new Script(`(async () => {\n${script}\n})`)).not.toThrow();
  });

  it('synthesizes and diffs even when lint or tests failed (README), but not after a failed install or a cancelled run', () => {
    const diff = checkStep((step) => step.id === 'diff');
    const situations: Situation[] = [
      { from: THIS_REPOSITORY },
      { from: THIS_REPOSITORY, failedChecks: ['lint'] },
      { from: THIS_REPOSITORY, failedChecks: ['test'] },
      { from: THIS_REPOSITORY, failedChecks: ['lint', 'test'] },
      { from: FORK, failedChecks: ['test'] },
      { from: THIS_REPOSITORY, install: 'failure' },
      { from: THIS_REPOSITORY, cancelled: true },
    ];
    expect(runsIn(diff?.if, situations)).toEqual([true, true, true, true, true, false, false]);
  });

  it('posts the comment whenever the diff ran, failed tests included, but never from a fork, whose token is read-only', () => {
    const comment = checkStep((step) => step.uses?.startsWith('actions/github-script@') === true);
    const situations: Situation[] = [
      { from: THIS_REPOSITORY, diffExitCode: '0' },
      { from: THIS_REPOSITORY, failedChecks: ['test'], diffExitCode: '3' },
      { from: THIS_REPOSITORY, diffExitCode: '1' },
      { from: FORK, diffExitCode: '0' },
      { from: FORK, failedChecks: ['test'], diffExitCode: '3' },
      { from: THIS_REPOSITORY, install: 'failure' },
      { from: THIS_REPOSITORY, diffExitCode: '0', cancelled: true },
    ];
    expect(runsIn(comment?.if, situations)).toEqual([true, true, true, false, false, false, false]);
  });

  it('fails the check on a non-zero diff exit, forks included, and not when the diff did not run', () => {
    const fail = check.steps.at(-1);
    const situations: Situation[] = [
      { from: THIS_REPOSITORY, diffExitCode: '0' },
      { from: THIS_REPOSITORY, diffExitCode: '3' },
      { from: THIS_REPOSITORY, failedChecks: ['test'], diffExitCode: '1' },
      { from: FORK, diffExitCode: '3' },
      { from: THIS_REPOSITORY, install: 'failure' },
    ];
    expect(runsIn(fail?.if, situations)).toEqual([false, true, true, true, false]);
  });

  it('diffs against the deployed stacks only with the role variable set, and never for a fork, which gets no OIDC token', () => {
    const role = 'arn:aws:iam::123456789012:role/dynalake-diff';
    const situations: Situation[] = [{ from: THIS_REPOSITORY, diffRoleArn: role }, { from: FORK, diffRoleArn: role }, { from: THIS_REPOSITORY, diffRoleArn: '' }, { from: THIS_REPOSITORY }];
    expect(runsIn(deployed.if, situations)).toEqual([true, false, false, false]);
  });

  it('fails the job after posting when the diff exits non-zero', () => {
    const names = check.steps.map((step) => step.name ?? step.uses ?? '');
    const fail = check.steps.findIndex((step) => step.run?.includes('exit "$EXIT_CODE"') === true);
    expect(fail).toBe(check.steps.length - 1);
    expect(names.findIndex((name) => name.includes('comment'))).toBeLessThan(fail);
  });

  it('diffs against the deployed stacks through OIDC only when the role variable is set', () => {
    expect(deployed.if).toContain("vars.DYNALAKE_DIFF_ROLE_ARN != ''");
    const credentials = deployed.steps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@') === true);
    expect(credentials?.with).toMatchObject({ 'role-to-assume': '${{ vars.DYNALAKE_DIFF_ROLE_ARN }}' });
    expect(deployed.steps.some((step) => step.run?.includes('npx cdk diff') === true)).toBe(true);
  });

  it('pins every action to a full commit sha, with the release named beside it', () => {
    const uses = SOURCE.split('\n').filter((line) => /^\s*(- )?uses:/.test(line));
    expect(uses.length).toBe(steps.filter((step) => step.uses !== undefined).length);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  it('only calls npm scripts and files that exist', () => {
    const scripts = runs.flatMap((run) => [...run.matchAll(/\bnpm (?:run )?([a-z][\w:-]*)/g)].map((match) => match[1] ?? ''));
    expect(scripts).toEqual(expect.arrayContaining(['ci', 'lint', 'test', 'diff']));
    for (const script of scripts.filter((name) => name !== 'ci')) expect(packageJson.scripts).toHaveProperty([script]);
    const files = runs.flatMap((run) => [...run.matchAll(/(?:^|\s)((?:scripts|bin|\.ci)\/[\w./-]+)/g)].map((match) => match[1] ?? ''));
    for (const file of files) expect(existsSync(join(ROOT, file))).toBe(true);
    expect(existsSync(join(ROOT, 'node_modules', '.bin', 'cdk'))).toBe(true);
  });
});
