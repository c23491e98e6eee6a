import { type App, Tags } from 'aws-cdk-lib';
import { configFromContext, type PipelineConfig } from './config';
import { addComplianceChecks } from './nag';
import { StorageStack } from './stacks/storage-stack';

/** The stacks of a dynalake app and the configuration they were built from. */
export interface DynalakeStacks {
  /** The validated configuration. */
  readonly config: PipelineConfig;
  /** Tables, buckets and their key. */
  readonly storage: StorageStack;
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

  addComplianceChecks(app);
  return { config, storage };
}
