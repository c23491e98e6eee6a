/** .github/workflows/deploy.yml: what a push to main deploys, in which order, with which rights. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import cdkJson from '../../cdk.json';
import { buildDynalakeApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { conditionHolds, expressionValue, type RunState } from '../helpers/github-expression';
import { glueRuntimeVersions, type Job, readWorkflow, type Step, toolchainBeforeTests } from '../helpers/workflow-file';

const ROOT = join(__dirname, '..', '..');
const { source: SOURCE, workflow } = readWorkflow('deploy.yml');
const PULL_REQUEST_SOURCE = readWorkflow('pull-request.yml').source;

const jobs = Object.entries(workflow.jobs);
const job = (name: string): Job => {
  const found = workflow.jobs[name];
  if (found === undefined) throw new Error(`deploy.yml has no job ${name}`);
  return found;
};
const steps = jobs.flatMap(([, each]) => each.steps);
const runs = steps.flatMap((step) => (step.run === undefined ? [] : [step.run]));
const CREDENTIALS = 'aws-actions/configure-aws-credentials@';
const DEPLOY_JOBS = { 'deploy-dev': 'dev', 'deploy-prod': 'prod' } as const;

/** The index of the one step of a job that `predicate` picks. */
function stepIndex(of: Job, what: string, predicate: (step: Step) => boolean): number {
  const indexes = of.steps.flatMap((step, index) => (predicate(step) ? [index] : []));
  if (indexes.length !== 1) throw new Error(`expected one ${what} step, found ${String(indexes.length)}`);
  return indexes[0] ?? -1;
}
const credentialsFor = (role: string) => (step: Step) => step.uses?.startsWith(CREDENTIALS) === true && step.with?.['role-to-assume'] === `\${{ vars.${role} }}`;
const running = (pattern: RegExp) => (step: Step) => step.run !== undefined && pattern.test(step.run);

/** A script's `$NAME` and `${NAME}` replaced from `values`; an unknown name throws. */
function expand(script: string, values: Readonly<Record<string, string>>): string {
  return script.replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`$${name} is not set`);
    return value;
  });
}
/** The words of one shell command line, quotes removed (no escapes or globs: the commands here have none). */
const words = (line: string) => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');

const THIS_REPOSITORY = 'dynalake-org/dynalake';

/** A run of this workflow, as the deploy-prod job's expressions see it. */
interface Situation {
  readonly event: 'push' | 'workflow_dispatch';
  readonly ref?: string;
  /** The dispatch input approve-broadening (undefined for a push, which has no inputs). */
  readonly approved?: boolean;
  /** What plan-prod wrote to its broadening output. */
  readonly broadening: 'true' | 'false';
}

function runState(situation: Situation): RunState {
  return {
    contexts: {
      github: { event_name: situation.event, ref: situation.ref ?? 'refs/heads/main', repository: THIS_REPOSITORY, run_id: '7' },
      inputs: situation.approved === undefined ? {} : { 'approve-broadening': situation.approved },
      needs: { 'plan-prod': { result: 'success', outputs: { broadening: situation.broadening, base: '0123456789abcdef0123456789abcdef01234567' } } },
      vars: {},
    },
    failed: false,
    cancelled: false,
  };
}

describe('the expression evaluator, for what these tests add to it', () => {
  const state = (contexts: Record<string, unknown>): RunState => ({ contexts, failed: false, cancelled: false });

  it('reads true, false and null as literals, a boolean input as a boolean', () => {
    const approved = state({ inputs: { 'approve-broadening': true } });
    const expressions = ['inputs.approve-broadening == true', 'inputs.approve-broadening == false', "inputs.approve-broadening == 'true'", 'inputs.missing == null', 'inputs.missing == true', 'true'];
    expect(expressions.map((expression) => conditionHolds(expression, approved))).toEqual([true, false, false, true, false, true]);
  });

  it('gives the value of an expression: && and || return an operand, with no implied success()', () => {
    const values = (contexts: Record<string, unknown>) =>
      ["${{ x == 'a' && 'never' || 'broadening' }}", 'x', 'missing', "!(x == 'a')"].map((expression) => expressionValue(expression, { ...state(contexts), failed: true }));
    expect([values({ x: 'a' }), values({ x: 'b' })]).toEqual([
      ['never', 'a', null, false],
      ['broadening', 'b', null, true],
    ]);
  });
});

describe('the deploy workflow', () => {
  it('sets up the Python and Java of the Glue runtime before npm test, which refuses others', () => {
    expect(toolchainBeforeTests(workflow.jobs.check as Job)).toEqual(glueRuntimeVersions());
    expect(glueRuntimeVersions()).toEqual({ python: '3.11', java: '17' });
  });

  it('runs on pushes to main, and on dispatch with an approve-broadening input that is off by default', () => {
    expect(Object.keys(workflow.on)).toEqual(['push', 'workflow_dispatch']);
    expect(workflow.on.push).toEqual({ branches: ['main'] });
    expect(workflow.on.workflow_dispatch).toEqual({
      inputs: {
        'approve-broadening': {
          description: "deploy to prod even when the change broadens IAM permissions (after reading the prod plan's diff)",
          type: 'boolean',
          default: false,
        },
      },
    });
  });

  it('has the four jobs, each needing the one before: check, deploy-dev, plan-prod, deploy-prod', () => {
    expect(Object.keys(workflow.jobs)).toEqual(['check', 'deploy-dev', 'plan-prod', 'deploy-prod']);
    expect(jobs.map(([, each]) => each.needs)).toEqual([undefined, 'check', 'deploy-dev', 'plan-prod']);
  });

  it('grants nothing by default, and each job only what it needs', () => {
    expect(workflow.permissions).toEqual({});
    expect(Object.fromEntries(jobs.map(([name, each]) => [name, each.permissions]))).toEqual({
      check: { contents: 'read' },
      'deploy-dev': { contents: 'read', 'id-token': 'write' },
      'plan-prod': { contents: 'read', deployments: 'read' },
      'deploy-prod': { contents: 'read', 'id-token': 'write' },
    });
  });

  it('runs the deploy jobs in the GitHub environment of their stage, and no other job in one', () => {
    expect(Object.fromEntries(jobs.map(([name, each]) => [name, each.environment]))).toEqual({ check: undefined, 'deploy-dev': 'dev', 'plan-prod': undefined, 'deploy-prod': 'prod' });
    for (const [name, stage] of Object.entries(DEPLOY_JOBS)) expect(job(name).env).toEqual({ STAGE: stage });
    // The deploy roles trust repo:<owner>/<name>:environment:<stage> only: an OIDC token from a job
    // without an environment has another subject and could assume none of them.
    const withToken = jobs.filter(([, each]) => each.permissions?.['id-token'] === 'write').map(([name]) => name);
    expect(withToken).toEqual(jobs.filter(([, each]) => each.environment !== undefined).map(([name]) => name));
  });

  it('deploys only from main, also when dispatched from another branch', () => {
    const situations: Situation[] = [
      { event: 'push', broadening: 'false' },
      { event: 'workflow_dispatch', approved: true, broadening: 'false' },
      { event: 'workflow_dispatch', ref: 'refs/heads/feature', approved: true, broadening: 'false' },
    ];
    for (const name of Object.keys(DEPLOY_JOBS)) expect(situations.map((situation) => conditionHolds(job(name).if, runState(situation)))).toEqual([true, true, false]);
  });

  it('never overlaps two deploys of a stage, and never cancels one under way; no workflow-wide group', () => {
    expect(workflow.concurrency).toBeUndefined();
    expect(Object.fromEntries(jobs.map(([name, each]) => [name, each.concurrency]))).toEqual({
      check: undefined,
      'deploy-dev': { group: 'deploy-dev', 'cancel-in-progress': false },
      'plan-prod': undefined,
      'deploy-prod': { group: 'deploy-prod', 'cancel-in-progress': false },
    });
  });

  it('bounds every job in time, the deploys within the hour a deploy role session lasts', () => {
    expect(Object.fromEntries(jobs.map(([name, each]) => [name, each['timeout-minutes']]))).toEqual({ check: 30, 'deploy-dev': 60, 'plan-prod': 20, 'deploy-prod': 60 });
  });

  it('pins every action to a full commit sha, with the release named beside it, the same ones as the pull-request workflow', () => {
    const pins = (source: string) => source.split('\n').filter((line) => /^\s*(- )?uses:/.test(line));
    const uses = pins(SOURCE);
    expect(uses.length).toBe(steps.filter((step) => step.uses !== undefined).length);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    const pinned = (lines: readonly string[]) => new Map(lines.map((line) => /uses: ([^@]+)@(.+)$/.exec(line)?.slice(1, 3) as [string, string]));
    const here = pinned(uses);
    const pullRequest = pinned(pins(PULL_REQUEST_SOURCE));
    expect([...here.keys()].sort()).toEqual(['actions/checkout', 'actions/setup-java', 'actions/setup-node', 'actions/setup-python', 'aws-actions/configure-aws-credentials']);
    for (const [action, pin] of here) expect([action, pin]).toEqual([action, pullRequest.get(action)]);
  });

  it('lints and tests before anything deploys', () => {
    const commands = job('check').steps.flatMap((step) => (step.run === undefined ? [] : [step.run.trim()]));
    expect(commands).toEqual(['npm ci --no-audit --no-fund', 'npm run lint', 'npm test']);
  });

  it('checks out without keeping the token, and installs with npm ci on node 20 with the npm cache, in every job', () => {
    for (const [name, each] of jobs) {
      const checkout = stepIndex(each, `${name} checkout`, (step) => step.uses?.startsWith('actions/checkout@') === true);
      const node = stepIndex(each, `${name} setup-node`, (step) => step.uses?.startsWith('actions/setup-node@') === true);
      const install = stepIndex(each, `${name} install`, running(/^npm ci --no-audit --no-fund$/));
      expect([checkout < node, node < install]).toEqual([true, true]);
      expect(each.steps[checkout]?.with).toEqual(name === 'plan-prod' ? { 'fetch-depth': 0, 'persist-credentials': false } : { 'persist-credentials': false });
      expect(each.steps[node]?.with).toEqual({ 'node-version': 20, cache: 'npm' });
    }
  });

  it('takes AWS credentials from OIDC only: no stored key, and only the deploy jobs assume roles', () => {
    expect(SOURCE).not.toMatch(/secrets\.|aws-access-key-id|aws-secret-access-key|aws-session-token/i);
    const assuming = jobs.filter(([, each]) => each.steps.some((step) => step.uses?.startsWith(CREDENTIALS) === true)).map(([name]) => name);
    expect(assuming).toEqual(Object.keys(DEPLOY_JOBS));
    for (const [name, stage] of Object.entries(DEPLOY_JOBS)) {
      const credentials = job(name).steps.filter((step) => step.uses?.startsWith(CREDENTIALS) === true);
      expect(credentials.map((step) => step.with)).toEqual(
        ['deploy', 'smoke'].map((kind) => ({
          'role-to-assume': `\${{ vars.DYNALAKE_${kind.toUpperCase()}_ROLE_ARN }}`,
          'role-session-name': `dynalake-${kind}-\${{ env.STAGE }}-\${{ github.run_id }}`,
          'aws-region': '${{ vars.AWS_REGION }}',
        })),
      );
      // The session name, once GitHub substitutes it, is one STS accepts (at most 64 of [\w+=,.@-]).
      const session = String(credentials[0]?.with?.['role-session-name']).replace('${{ env.STAGE }}', stage).replace('${{ github.run_id }}', '12345678901');
      expect(session).toMatch(/^[\w+=,.@-]{2,64}$/);
    }
  });

  it('deploys, then assumes the smoke role, then smoke-tests the stage it deployed', () => {
    for (const [name, stage] of Object.entries(DEPLOY_JOBS)) {
      const each = job(name);
      const order = [
        stepIndex(each, 'deploy credentials', credentialsFor('DYNALAKE_DEPLOY_ROLE_ARN')),
        stepIndex(each, 'cdk deploy', running(/\bnpx cdk deploy\b/)),
        stepIndex(each, 'smoke credentials', credentialsFor('DYNALAKE_SMOKE_ROLE_ARN')),
        stepIndex(each, 'smoke', running(/\bnpm run smoke\b/)),
      ];
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(order[3]).toBe(each.steps.length - 1);
      const smoke = each.steps[order[3] ?? -1];
      expect(words(expand(smoke?.run?.trim() ?? '', { STAGE: each.env?.STAGE ?? '' }))).toEqual(['npm', 'run', 'smoke', '--', '--stage', stage]);
    }
  });

  describe('the deploy command', () => {
    /** The command lines of a job's deploy step, its prefix computation and its cdk deploy. */
    const deployLines = (name: string) => {
      const each = job(name);
      const lines = (each.steps[stepIndex(each, 'cdk deploy', running(/\bnpx cdk deploy\b/))]?.run ?? '').trim().split('\n');
      expect(lines).toHaveLength(2);
      const [prefixLine = '', deployLine = ''] = lines;
      const [, prefixScript] = /^prefix=\$\(node -p "([^"]+)"\)$/.exec(prefixLine) ?? [];
      return { prefixScript: prefixScript ?? '', deployLine };
    };

    /** The prefix the deploy step computes, in a folder holding `cdkJsonText` as cdk.json. */
    const prefixIn = (prefixScript: string, cdkJsonText: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'dynalake-prefix-'));
      try {
        writeFileSync(join(dir, 'cdk.json'), cdkJsonText);
        return execFileSync(process.execPath, ['-p', prefixScript], { cwd: dir, encoding: 'utf8' }).trim();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it("reads the stack prefix from cdk.json's dynalake.prefix, dynalake without one, as the app does", () => {
      for (const name of Object.keys(DEPLOY_JOBS)) {
        const { prefixScript } = deployLines(name);
        expect([
          prefixIn(prefixScript, readFileSync(join(ROOT, 'cdk.json'), 'utf8')),
          prefixIn(prefixScript, JSON.stringify({ context: { dynalake: { stage: 'dev', prefix: 'acme' } } })),
          prefixIn(prefixScript, JSON.stringify({ context: {} })),
          prefixIn(prefixScript, JSON.stringify({ app: 'x' })),
        ]).toEqual([parseConfig(cdkJson.context.dynalake).prefix, 'acme', 'dynalake', 'dynalake']);
      }
    });

    const outdirs: string[] = [];
    afterAll(() => {
      for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });
    /** The stacks of the app as `cdk deploy --context KEY=VALUE` builds it, with the deploy-access stack too. */
    const stacksWith = (context: Readonly<Record<string, string>>) => {
      const outdir = mkdtempSync(join(tmpdir(), 'dynalake-deploy-workflow-'));
      outdirs.push(outdir);
      const app = new App({ outdir, context: { ...cdkJson.context, 'dynalake.githubRepository': THIS_REPOSITORY, ...context } });
      buildDynalakeApp(app);
      return app.node.children.filter((child) => Stack.isStack(child)).map((stack) => stack.node.id);
    };
    /** cdk deploy's stack patterns: `*` is any run of characters but `/` (minimatch on the stack's id). */
    const matches = (pattern: string, id: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`).test(id);

    it.each(Object.entries(DEPLOY_JOBS))("%s deploys the stage's stacks, built for that stage, and never the deploy-access stack", (name, stage) => {
      const { deployLine } = deployLines(name);
      const argv = words(expand(deployLine, { prefix: 'dynalake', STAGE: job(name).env?.STAGE ?? '', REQUIRE_APPROVAL: 'REQUIRE_APPROVAL' }));
      expect(argv).toEqual([
        'npx',
        'cdk',
        'deploy',
        `dynalake-${stage}-*`,
        '--context',
        `dynalake.stage=${stage}`,
        '--require-approval',
        stage === 'dev' ? 'never' : 'REQUIRE_APPROVAL',
        '--no-notices',
      ]);
      const [key = '', value = ''] = (argv[5] ?? '').split('=');
      const stacks = stacksWith({ [key]: value });
      expect(stacks.filter((id) => matches(argv[3] ?? '', id))).toEqual([`dynalake-${stage}-storage`, `dynalake-${stage}-pipeline`]);
      expect(stacks).toContain('dynalake-deploy-access');
    });
  });

  describe('prod', () => {
    const prod = job('deploy-prod');
    const guard = prod.steps[stepIndex(prod, 'guard', (step) => step.run?.includes('::error') === true)];
    const deploy = prod.steps[stepIndex(prod, 'cdk deploy', running(/\bnpx cdk deploy\b/))];

    // The four situations of the issue, and a dispatch without the approval.
    const situations: Situation[] = [
      { event: 'push', broadening: 'false' },
      { event: 'push', broadening: 'true' },
      { event: 'workflow_dispatch', approved: true, broadening: 'false' },
      { event: 'workflow_dispatch', approved: true, broadening: 'true' },
      { event: 'workflow_dispatch', approved: false, broadening: 'true' },
    ];

    it('deploys with --require-approval never unless the change broadens permissions without an approved dispatch', () => {
      expect(situations.map((situation) => expressionValue(deploy?.env?.REQUIRE_APPROVAL ?? '', runState(situation)))).toEqual(['never', 'broadening', 'never', 'never', 'broadening']);
    });

    it('stops with an error before any credentials or cdk exactly when the deploy would be asked to approve', () => {
      expect(situations.map((situation) => conditionHolds(guard?.if, runState(situation)))).toEqual([false, true, false, false, true]);
      expect(prod.steps.indexOf(guard as Step)).toBe(0);
      const result = spawnSync('bash', ['-e', '-c', guard?.run ?? ''], { env: { PATH: process.env.PATH, BASE: '0123456789abcdef' }, encoding: 'utf8' });
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/^::error title=prod not deployed::this commit broadens permissions .* compared with 0123456: .*approve-broadening/);
      expect(guard?.env).toEqual({ BASE: '${{ needs.plan-prod.outputs.base }}' });
    });

    it('is planned from what prod runs, offline, without AWS credentials', () => {
      const plan = job('plan-prod');
      expect(plan.steps.some((step) => step.uses?.startsWith(CREDENTIALS) === true)).toBe(false);
      expect(plan.outputs).toEqual({ base: '${{ steps.base.outputs.base }}', broadening: '${{ steps.plan.outputs.broadening }}' });
      const diff = plan.steps.find((step) => step.id === 'plan');
      expect(diff?.env).toEqual({ BASE: '${{ steps.base.outputs.base }}' });
      expect(diff?.run).toContain('npm run diff -- --base "$BASE" --format markdown --output prod-plan.md --fail-on security\n');
      expect(plan.steps.find((step) => step.id === 'base')?.env).toEqual({ GH_TOKEN: '${{ github.token }}' });
    });
  });

  describe("plan-prod's scripts", () => {
    const plan = job('plan-prod');
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'dynalake-plan-prod-'));
      mkdirSync(join(dir, 'bin'));
      mkdirSync(join(dir, 'work'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const fake = (command: string, body: string) => {
      writeFileSync(join(dir, 'bin', command), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "${join(dir, `${command}.log`)}"\n${body}\n`);
      chmodSync(join(dir, 'bin', command), 0o755);
    };
    /** Runs a step's script as GitHub does (bash -e) with fakes first on PATH; its outputs, summary and log. */
    const runStep = (id: string, env: Readonly<Record<string, string>>, cwd: string) => {
      const script = plan.steps.find((step) => step.id === id)?.run ?? '';
      const output = join(dir, 'output');
      const summary = join(dir, 'summary');
      writeFileSync(output, '');
      writeFileSync(summary, '');
      const result = spawnSync('bash', ['-e', '-c', script], {
        cwd,
        encoding: 'utf8',
        env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, GITHUB_REPOSITORY: THIS_REPOSITORY, GITHUB_SHA: 'fedcba9876543210', ...env },
      });
      const read = (file: string) => {
        try {
          return readFileSync(join(dir, file), 'utf8');
        } catch {
          return '';
        }
      };
      return { status: result.status, stdout: result.stdout, stderr: result.stderr, output: read('output'), summary: read('summary'), log: (command: string) => read(`${command}.log`) };
    };

    describe('finding the commit prod runs', () => {
      /** A fake gh: the prod deployments, newest first, and each one's latest status (what the --jq filters print). */
      const fakeGh = (deployments: readonly (readonly [id: number, sha: string, state: string])[]) =>
        fake(
          'gh',
          [
            'case "$2" in',
            `  *"/deployments?environment=prod&"*) printf '%s' '${deployments.map(([id, sha]) => `${String(id)} ${sha}`).join('\n')}' ;;`,
            ...deployments.map(([id, , state]) => `  */deployments/${String(id)}/statuses*) echo ${state} ;;`),
            '  *) exit 1 ;;',
            'esac',
          ].join('\n'),
        );

      it('is the newest prod deployment whose latest status is success', () => {
        fakeGh([
          [30, 'c'.repeat(40), 'failure'],
          [20, 'b'.repeat(40), 'success'],
          [10, 'a'.repeat(40), 'inactive'],
        ]);
        const result = runStep('base', { GH_TOKEN: 'token' }, ROOT);
        expect([result.status, result.output]).toEqual([0, `base=${'b'.repeat(40)}\n`]);
        expect(result.log('gh').trim().split('\n')).toEqual([
          `api repos/${THIS_REPOSITORY}/deployments?environment=prod&per_page=100 --jq .[] | "\\(.id) \\(.sha)"`,
          `api repos/${THIS_REPOSITORY}/deployments/30/statuses?per_page=1 --jq .[0].state // ""`,
          `api repos/${THIS_REPOSITORY}/deployments/20/statuses?per_page=1 --jq .[0].state // ""`,
        ]);
      });

      it("is the repository's first commit when prod never ran a successful deploy", () => {
        const first = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1) ?? '';
        expect(first).toMatch(/^[0-9a-f]{40}$/);
        for (const deployments of [[], [[5, 'd'.repeat(40), 'failure']]] as const) {
          fakeGh(deployments);
          const result = runStep('base', { GH_TOKEN: 'token' }, ROOT);
          expect([result.status, result.output]).toEqual([0, `base=${first}\n`]);
          expect(result.stdout).toContain('prod was never deployed');
        }
      });

      it('fails when GitHub cannot be asked, rather than plan against the first commit', () => {
        fake('gh', 'exit 1');
        const result = runStep('base', { GH_TOKEN: 'token' }, ROOT);
        expect(result.status).toBe(1);
        expect(result.output).toBe('');
      });
    });

    describe('the plan', () => {
      const fakeDiff = (exitCode: number) => {
        fake('npm', `printf '**the plan**\\n' > prod-plan.md\nexit ${String(exitCode)}`);
      };

      it.each([
        [0, 0, 'broadening=false\n'],
        [3, 0, 'broadening=true\n'],
        [1, 1, ''],
        [2, 2, ''],
      ])('diff exit %i: the job exits %i with output %j, the plan in the job summary', (diffExit, status, output) => {
        fakeDiff(diffExit);
        const result = runStep('plan', { BASE: '0123456789abcdef' }, join(dir, 'work'));
        expect([result.status, result.output]).toEqual([status, output]);
        expect(result.summary).toBe('## prod plan: 0123456..fedcba9\n\n**the plan**\n');
        expect(result.log('npm')).toBe('run diff -- --base 0123456789abcdef --format markdown --output prod-plan.md --fail-on security\n');
      });
    });
  });

  it('passes expressions to scripts through env, never inline (no script injection)', () => {
    for (const run of runs) expect(run).not.toContain('${{');
  });
});
