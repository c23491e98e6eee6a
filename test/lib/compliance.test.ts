import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { buildDynalakeApp } from '../../lib/app';
import type { PipelineConfigInput } from '../../lib/config';
import { parseConfig } from '../../lib/config';
import { LakeBuckets } from '../../lib/constructs/lake-buckets';
import { addComplianceChecks } from '../../lib/nag';
import { PipelineStack } from '../../lib/stacks/pipeline-stack';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { buildStacks, testApp } from '../helpers/cdk-app';

interface ValidationReport {
  readonly pluginReports: readonly { readonly pluginName: string; readonly violations?: readonly unknown[] }[];
}

describe('compliance at synth (cdk-nag AwsSolutions and CloudFormation validation)', () => {
  it.each<[string, PipelineConfigInput]>([
    ['the default configuration', {}],
    ['KMS encryption with destroy', { stage: 'sandbox', encryption: 'kms', removalPolicy: 'destroy' }],
    ['prod with alerts', { stage: 'prod', alertEmail: 'data-team@example.com' }],
  ])('synthesizes %s with no unacknowledged finding', (_name, config) => {
    const { app } = buildStacks(config);
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  });

  it("synthesizes with no finding in an app without cdk.json's feature flags (a consumer's app, or node dist/bin/app.js)", () => {
    // Without @aws-cdk/aws-iam:minimizePolicies, the statements of the orders job's role overflow into a managed policy.
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'dynalake-bare-app-')), context: { dynalake: { stage: 'dev' } } });
    const { pipeline } = buildDynalakeApp(app);
    const assembly = app.synth();
    expect(pipeline.jobs.orders_to_lake.role.node.tryFindChild('OverflowPolicy1')).toBeDefined();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
    rmSync(assembly.directory, { recursive: true, force: true });
  });

  it('synthesizes StorageStack and PipelineStack composed by hand, with the checks added before and a stack after, with no finding', () => {
    // No buildDynalakeApp: each construct and stack acknowledges its own findings.
    const app = testApp();
    addComplianceChecks(app);
    const config = parseConfig({ stage: 'dev' });
    const storage = new StorageStack(app, 'MyStorage', { config });
    new PipelineStack(app, 'MyPipeline', {
      config,
      tables: { orders: storage.orders.table, userCampaign: storage.userCampaign.table, campaignInfo: storage.campaignInfo.table, uploads: storage.uploads.table },
      buckets: { landing: storage.buckets.landing, lake: storage.buckets.lake, assets: storage.buckets.assets },
    });
    const extra = new Stack(app, 'MoreBuckets');
    new LakeBuckets(extra, 'Buckets', { removalPolicy: RemovalPolicy.DESTROY });
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  });

  it('fails synth on a cdk-nag finding nobody acknowledged', () => {
    const { app, storage } = buildStacks();
    new Bucket(storage, 'UnloggedPlainBucket');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*UnloggedPlainBucket|UnloggedPlainBucket[\s\S]*AwsSolutions-S1/);
  });

  it('fails synth on a wildcard in a pipeline role that no acknowledged reason explains', () => {
    const { app, pipeline } = buildStacks();
    pipeline.jobs.orders_to_lake.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::someone-elses-bucket/*'] }));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:s3:::someone-elses-bucket\/\*\]/);
  });

  it('fails synth on Resource::* for an action that has resource-level permissions, even beside one that has none', () => {
    const { app, pipeline } = buildStacks();
    const [ordersBridge] = pipeline.streamBridges;
    // Merged by CDK into the statement that already holds dynamodb:ListStreams and X-Ray on `*`.
    ordersBridge?.bridge.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:GetRecords'], resources: ['*'] }));
    expect(() => app.synth()).toThrow(/OrdersToLake\/Stream\/Bridge\/Role\/DefaultPolicy[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/);
  });

  it('fails synth on a CloudFormation validation warning (strict validation from cdk.json)', () => {
    const { app, storage } = buildStacks();
    new CfnResource(storage, 'DeprecatedRuntimeFunction', {
      type: 'AWS::Lambda::Function',
      properties: { Runtime: 'nodejs16.x', Handler: 'index.handler', Role: 'arn:aws:iam::123456789012:role/example', Code: { ZipFile: 'exports.handler = () => {}' } },
    });
    expect(() => app.synth()).toThrow(/DeprecatedRuntimeFunction[\s\S]*CloudFormation-Validate::W2531/);
  });
});
