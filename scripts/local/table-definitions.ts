import { App } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { parseConfig, type PipelineConfigInput } from '../../lib/config';
import { StorageStack } from '../../lib/stacks/storage-stack';

/** The storage stack's tables, by the name its construct gives them. */
export type StorageTableId = 'orders' | 'userCampaign' | 'campaignInfo' | 'uploads';

/** A CreateTable request with its table name set. */
export type TableDefinition = CreateTableCommandInput & { readonly TableName: string };

interface CfnTableProperties {
  readonly KeySchema: CreateTableCommandInput['KeySchema'];
  readonly AttributeDefinitions: CreateTableCommandInput['AttributeDefinitions'];
  readonly BillingMode?: CreateTableCommandInput['BillingMode'];
  readonly GlobalSecondaryIndexes?: CreateTableCommandInput['GlobalSecondaryIndexes'];
  readonly StreamSpecification?: { readonly StreamViewType: NonNullable<CreateTableCommandInput['StreamSpecification']>['StreamViewType'] };
}

/**
 * CreateTable requests for the storage stack's tables, read from the stack as CDK synthesizes it:
 * the same keys, indexes and stream as in the cloud, so local and cloud cannot drift. Local
 * names are `<prefix>-<stage>-<table>` (in the cloud CloudFormation names them).
 */
export function storageTableDefinitions(config: PipelineConfigInput = {}): Record<StorageTableId, TableDefinition> {
  const parsed = parseConfig(config);
  // No template validation: nothing is deployed from this synth, only the table shapes are read.
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new StorageStack(app, 'local-storage', { config: parsed });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Properties: CfnTableProperties }> };

  const definition = (id: StorageTableId, slug: string): TableDefinition => {
    const logicalId = stack.resolve(stack.getLogicalId(stack[id].table.node.defaultChild as CfnTable)) as string;
    const properties = template.Resources[logicalId]?.Properties;
    if (!properties) throw new Error(`the storage stack has no table ${logicalId}`);
    return {
      TableName: `${parsed.prefix}-${parsed.stage}-${slug}`,
      KeySchema: properties.KeySchema,
      AttributeDefinitions: properties.AttributeDefinitions,
      BillingMode: properties.BillingMode,
      GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes,
      StreamSpecification: properties.StreamSpecification && { StreamEnabled: true, StreamViewType: properties.StreamSpecification.StreamViewType },
    };
  };
  return {
    orders: definition('orders', 'orders'),
    userCampaign: definition('userCampaign', 'user-campaign'),
    campaignInfo: definition('campaignInfo', 'campaign-info'),
    uploads: definition('uploads', 'uploads'),
  };
}
