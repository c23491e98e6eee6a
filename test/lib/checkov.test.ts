import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineConfigInput } from '../../lib/config';
import { buildStacks, testApp } from '../helpers/cdk-app';
import { sensorsLake } from '../helpers/sensors-app';
import { describeWithVenv, VENV_BIN } from '../helpers/spark';

/**
 * Checkov (pinned in scripts/python/requirements-checkov.txt, in .venv/checkov/) over every
 * synthesized template of three configurations: no failed check; each check that does not apply
 * is skipped beside its resource (Metadata.checkov.skip, set by each construct with lib/nag.ts acknowledgeCheckov)
 * with the construct path and a reason.
 */

interface CheckovCheck {
  readonly check_id: string;
  readonly resource: string;
  readonly file_path: string;
  readonly check_result: { readonly result: string; readonly suppress_comment?: string };
}

interface CheckovReport {
  readonly summary: { readonly passed: number; readonly failed: number; readonly skipped: number };
  readonly results: { readonly failed_checks: readonly CheckovCheck[]; readonly skipped_checks?: readonly CheckovCheck[] };
}

const CHECKOV = join(VENV_BIN, '..', 'checkov', 'bin', 'checkov');

function checkov(templates: readonly string[]): CheckovReport {
  const run = spawnSync(CHECKOV, ['--framework', 'cloudformation', '--compact', '--output', 'json', '--skip-download', ...templates.flatMap((template) => ['--file', template])], {
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024, // every passed check of six templates
  });
  if (run.error) throw run.error;
  // Exit status 1 means failed checks; anything else but 0 is Checkov failing to run.
  if (run.status !== 0 && run.status !== 1) throw new Error(`checkov failed to run (${String(run.status)}): ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as CheckovReport | CheckovReport[];
  return Array.isArray(parsed) ? (parsed[0] as CheckovReport) : parsed;
}

const CONFIGS: readonly [string, PipelineConfigInput][] = [
  ['the default configuration', {}],
  ['KMS encryption with destroy and alerts', { stage: 'sandbox', encryption: 'kms', removalPolicy: 'destroy', alertEmail: 'data-team@example.com' }],
  // Deployed from GitHub: with the smoke role of the stage.
  ['prod, deployed from GitHub', { stage: 'prod', githubRepository: 'acme/shop-lake' }],
];

describeWithVenv('Checkov over the synthesized templates', () => {
  let report: CheckovReport;

  beforeAll(() => {
    const templates = CONFIGS.flatMap(([, config]) => {
      const { app, storage, pipeline } = buildStacks(config);
      const assembly = app.synth();
      return [storage, pipeline].map((stack) => join(assembly.directory, stack.templateFile));
    });
    // And a consumer's own table in the lake (the README's sensors app): its own workflow, key and security configuration.
    const consumer = testApp();
    const { stack: sensors } = sensorsLake(consumer);
    templates.push(join(consumer.synth().directory, sensors.templateFile));
    // One Checkov run over all the templates: its start-up is most of its time.
    report = checkov(templates);
  }, 300_000);

  it('fails no check', () => {
    expect(report.results.failed_checks.map((check) => `${check.check_id} ${check.resource}`)).toEqual([]);
    expect(report.summary.passed).toBeGreaterThan(500);
  });

  it('skips a check only beside its resource, naming the construct and why', () => {
    const skipped = report.results.skipped_checks ?? [];
    expect(skipped.length).toBe(report.summary.skipped);
    for (const check of skipped) expect([check.check_id, check.resource, check.check_result.suppress_comment]).toEqual([check.check_id, check.resource, expect.stringMatching(/^(dynalake-[a-z0-9-]+-(storage|pipeline)|SensorsLake)\/\S+: .{40,}/)]);
    // The kinds skipped, for the README's table of what Checkov asks beyond cdk-nag.
    expect([...new Set(skipped.map((check) => check.check_id))].sort()).toEqual(['CKV_AWS_115', 'CKV_AWS_116', 'CKV_AWS_117', 'CKV_AWS_119', 'CKV_AWS_158', 'CKV_AWS_173', 'CKV_AWS_18', 'CKV_AWS_21', 'CKV_AWS_27']);
  });

  it('fails a template with an unencrypted, unlogged, unversioned bucket', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynalake-checkov-'));
    try {
      const bare = join(dir, 'bare.template.json');
      writeFileSync(bare, JSON.stringify({ Resources: { Bare: { Type: 'AWS::S3::Bucket', Properties: {} } } }));
      expect(checkov([bare]).results.failed_checks.map((check) => check.check_id)).toEqual(expect.arrayContaining(['CKV_AWS_18', 'CKV_AWS_21']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
