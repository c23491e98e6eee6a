import { type App, Tags } from 'aws-cdk-lib';
import { configFromContext, type PipelineConfig } from './config';
import { addDeployRules } from './deploy-rules';
import { addComplianceChecks } from './nag';
import { DeployAccessStack } from './stacks/deploy-access-stack';
import { PipelineStack } from './stacks/pipeline-stack';
import { StorageStack } from './stacks/storage-stack';

/** The stacks of a dynalake app and the configuration they were built from. */
export interface DynalakeStacks {
  /** The validated configuration. */
  readonly config: PipelineConfig;
  /** Tables, buckets and their key. */
  readonly storage: StorageStack;
  /** Glue, Athena and alerts, built on the storage stack's resources. */
  readonly pipeline: PipelineStack;
  /** GitHub Actions' OIDC trust and deploy roles, when `githubRepository` is set. */
  readonly deployAccess?: DeployAccessStack;
}

/**
 * Builds the dynalake app: validated configuration from context, the stacks, and the cdk-nag
 * checks that fail synth on any unacknowledged finding.
 * @throws ConfigError when the configuration is invalid.
 */
export function buildDynalakeApp(app: App): DynalakeStacks {
  const config = configFromContext(app.node);
  const name = `${config.prefix}-${config.stage}`;
  Tags.of(app).add('dynalake:prefix', config.prefix);
  Tags.of(app).add('dynalake:stage', config.stage);

  const storage = new StorageStack(app, `${name}-storage`, {
    config,
    description: `dynalake ${name}: DynamoDB tables and S3 buckets (stateful)`,
    terminationProtection: config.stage === 'prod',
  });

  const pipeline = new PipelineStack(app, `${name}-pipeline`, {
    config,
    description: `dynalake ${name}: Glue catalog, crawlers, jobs and workflow, Athena, alerts (stateless)`,
    tables: { orders: storage.orders.table, userCampaign: storage.userCampaign.table, campaignInfo: storage.campaignInfo.table, uploads: storage.uploads.table },
    buckets: { landing: storage.buckets.landing, lake: storage.buckets.lake, assets: storage.buckets.assets },
    dataKey: storage.encryptionKey,
  });

  const { githubRepository } = config;
  const deployAccess =
    githubRepository === undefined
      ? undefined
      : new DeployAccessStack(app, `${config.prefix}-deploy-access`, {
          config: { ...config, githubRepository },
          description: `dynalake ${config.prefix}: GitHub Actions' OIDC trust and the roles of the deployed stages (${config.githubDeployStages.join(', ')})`,
        });

  // Each construct and stack acknowledges its own findings; the app only turns the checks on.
  addComplianceChecks(app);
  addDeployRules(app);
  return { config, storage, pipeline, deployAccess };
}
