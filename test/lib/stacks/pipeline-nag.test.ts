import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { grantPrefixRead, grantPrefixWrite } from '../../../lib/s3-grants';
import { buildStacks } from '../../helpers/cdk-app';

/** The AwsSolutions-IAM5 finding of a wildcard over `keys` of a storage bucket, as cdk-nag names it. */
const wildcardFinding = (bucket: 'Landing' | 'Lake' | 'Assets', keys: string) =>
  new RegExp(`AwsSolutions-IAM5\\[Resource::dynalake-dev-storage:ExportsOutputFnGetAttBuckets${bucket}[0-9A-F]{8}Arn[0-9A-F]{8}/${keys.replace(/\*/g, '\\*')}\\]`);

describe('the acknowledgement of wildcards over lake prefixes, role by role', () => {
  it('fails synth when sales_star_schema may write or delete the curated orders it only reads', () => {
    const { app, pipeline, storage } = buildStacks();
    grantPrefixWrite(pipeline.jobs.sales_star_schema.role, storage.buckets.lake, 'curated/orders/');
    expect(() => app.synth()).toThrow(wildcardFinding('Lake', 'curated/orders*'));
  });

  it("fails synth when sales_star_schema may read another job's prefix", () => {
    const { app, pipeline, storage } = buildStacks();
    grantPrefixRead(pipeline.jobs.sales_star_schema.role, storage.buckets.lake, 'curated/campaign_progress/');
    expect(() => app.synth()).toThrow(wildcardFinding('Lake', 'curated/campaign_progress*'));
  });

  it("fails synth when csv_to_dynamodb may write the warehouse, another job's output", () => {
    const { app, pipeline, storage } = buildStacks();
    grantPrefixWrite(pipeline.jobs.csv_to_dynamodb.role, storage.buckets.lake, 'warehouse/');
    expect(() => app.synth()).toThrow(wildcardFinding('Lake', 'warehouse*'));
  });

  it("fails synth when a job's prefix is granted in another bucket than its own", () => {
    const { app, pipeline, storage } = buildStacks();
    grantPrefixWrite(pipeline.jobs.orders_to_lake.role, storage.buckets.landing, 'curated/orders/');
    expect(() => app.synth()).toThrow(wildcardFinding('Landing', 'curated/orders*'));
  });

  it("fails synth when a stream bridge may put under another table's cdc/ prefix", () => {
    const { app, pipeline, storage } = buildStacks();
    const [ordersBridge] = pipeline.streamBridges;
    ordersBridge?.bridge.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [storage.buckets.landing.arnForObjects('cdc/campaignInfo/*')] }));
    expect(() => app.synth()).toThrow(wildcardFinding('Landing', 'cdc/campaignInfo/*'));
  });

  it('still acknowledges a role its own prefix, granted again', () => {
    const { app, pipeline, storage } = buildStacks();
    grantPrefixWrite(pipeline.jobs.orders_to_lake.role, storage.buckets.lake, 'curated/orders/');
    expect(() => app.synth()).not.toThrow();
  });
});
