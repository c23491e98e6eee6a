import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnElement, type Stack } from 'aws-cdk-lib';
import type { PipelineConfigInput } from '../../lib/config';
import { buildStacks, testApp } from '../helpers/cdk-app';
import { sensorsLake } from '../helpers/sensors-app';
import { describeWithVenv, VENV_BIN } from '../helpers/spark';

/**
 * cfn-lint, AWS's CloudFormation linter (pinned in glue-scripts/requirements-dev.txt), over every
 * synthesized template: no error, and every warning either fixed or acknowledged, with the
 * resource and a reason, in cfn-lint.acknowledged.json.
 */

interface Finding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path?: readonly (string | number)[] };
}

interface Acknowledgement {
  readonly rule: string;
  readonly path: string;
  readonly reason: string;
}

const ROOT = join(__dirname, '..', '..');
const ACKNOWLEDGED = (JSON.parse(readFileSync(join(ROOT, 'cfn-lint.acknowledged.json'), 'utf8')) as { acknowledged: Acknowledgement[] }).acknowledged;

function cfnLint(templates: readonly string[]): Finding[] {
  const run = spawnSync(join(VENV_BIN, 'cfn-lint'), ['--format', 'json', '--', ...templates], { encoding: 'utf8', timeout: 300_000 });
  if (run.error) throw run.error;
  // Exit status: 0 clean, else a bit mask of error (2), warning (4) and informational (8) findings.
  if (run.status === null || run.status % 2 === 1) throw new Error(`cfn-lint failed to run (${String(run.status)}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Finding[];
}

/** `rule construct-path: message`, the construct path of the resource the finding is about. */
function describeFinding(finding: Finding, paths: ReadonlyMap<string, string>): { rule: string; path: string; text: string } {
  const [section, logicalId] = finding.Location.Path ?? [];
  const path = (section === 'Resources' && typeof logicalId === 'string' ? paths.get(logicalId) : undefined) ?? `${String(section)}/${String(logicalId)}`;
  return { rule: finding.Rule.Id, path, text: `${finding.Rule.Id} ${path}: ${finding.Message}` };
}

/** Logical id → construct path of every CloudFormation element of the stacks. */
function constructPaths(stacks: readonly Stack[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const stack of stacks) {
    for (const node of stack.node.findAll()) if (CfnElement.isCfnElement(node)) paths.set(stack.resolve(node.logicalId) as string, node.node.path);
  }
  return paths;
}

const CONFIGS: readonly [string, PipelineConfigInput][] = [
  ['the default configuration', {}],
  ['KMS encryption with destroy and alerts', { stage: 'sandbox', encryption: 'kms', removalPolicy: 'destroy', alertEmail: 'data-team@example.com' }],
  // Deployed from GitHub: with the smoke role of the stage.
  ['prod, deployed from GitHub', { stage: 'prod', githubRepository: 'acme/shop-lake' }],
];

const SENSORS_APP = "a consumer's sensors table (LakeDataset)";

describeWithVenv('cfn-lint over the synthesized templates', () => {
  /** Every finding over the templates of every configuration, by configuration. */
  const findings = new Map<string, ReturnType<typeof describeFinding>[]>();
  const acknowledgementOf = (finding: ReturnType<typeof describeFinding>) =>
    ACKNOWLEDGED.find((candidate) => candidate.rule === finding.rule && new RegExp(candidate.path).test(finding.path));

  beforeAll(() => {
    const synthesized = CONFIGS.map(([name, config]) => {
      const { app, storage, pipeline } = buildStacks(config);
      const assembly = app.synth();
      return { name, paths: constructPaths([storage, pipeline]), templates: [storage, pipeline].map((stack) => join(assembly.directory, stack.templateFile)) };
    });
    // And a consumer's own table in the lake (the README's sensors app).
    const consumer = testApp();
    const { stack: sensors } = sensorsLake(consumer);
    synthesized.push({ name: SENSORS_APP, paths: constructPaths([sensors]), templates: [join(consumer.synth().directory, sensors.templateFile)] });
    // One cfn-lint run over all the templates: its start-up is most of its time.
    const all = cfnLint(synthesized.flatMap((each) => each.templates));
    for (const { name, paths, templates } of synthesized) findings.set(name, all.filter((finding) => templates.includes(finding.Filename)).map((finding) => describeFinding(finding, paths)));
  }, 300_000);

  it.each([...CONFIGS.map(([name]) => name), SENSORS_APP])('finds no error and no unacknowledged warning in %s', (name) => {
    expect((findings.get(name) ?? []).filter((finding) => acknowledgementOf(finding) === undefined).map((finding) => finding.text)).toEqual([]);
  });

  it('has a reason for every acknowledgement, and no acknowledgement that matches nothing', () => {
    const used = new Set([...findings.values()].flat().map(acknowledgementOf));
    for (const entry of ACKNOWLEDGED) expect(entry.reason.length).toBeGreaterThan(40);
    expect(ACKNOWLEDGED.filter((entry) => !used.has(entry))).toEqual([]);
  });

  it('refuses a template with a known error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynalake-cfn-lint-'));
    try {
      const broken = join(dir, 'broken.template.json');
      writeFileSync(broken, JSON.stringify({ Resources: { Table: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST', Colour: 'blue' } } } }));
      const findings = cfnLint([broken]);
      expect(findings.filter((finding) => finding.Level === 'Error').map((finding) => finding.Rule.Id)).toEqual(expect.arrayContaining(['E3002']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
