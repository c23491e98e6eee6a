/**
 * What a deployed stack will leave behind when it is deleted: every resource whose DeletionPolicy
 * in the deployed template is Retain (or RetainExceptOnCreate, which a stack deletion also keeps),
 * with the physical id CloudFormation gave it. Read before `cdk destroy`, since a deleted stack
 * can no longer be read by name.
 */
import { type CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { parse as parseYaml } from 'yaml';

/** The DeletionPolicy values under which a stack deletion keeps the resource. */
export const RETAINING_POLICIES: readonly string[] = ['Retain', 'RetainExceptOnCreate'];

/** One resource a stack deletion keeps. */
export interface RetainedResource {
  readonly stackName: string;
  readonly logicalId: string;
  /** The CloudFormation type, e.g. AWS::DynamoDB::Table. */
  readonly type: string;
  /** The name or id the service knows it by: table name, bucket name, key id, log group name. */
  readonly physicalId: string;
  /** A table whose template turns on DeletionProtectionEnabled (prod). */
  readonly deletionProtection: boolean;
  /** A bucket whose template enables (or suspended) versioning: its object versions must go too. */
  readonly versioned: boolean;
  /** The logical ids of the buckets of the same stack that write their access logs to this one. */
  readonly logsFrom: readonly string[];
}

/** A deployed stack as read before its deletion. */
export interface DeployedStack {
  readonly stackName: string;
  /** The unique stack id (an ARN): a deleted stack is described only by it. */
  readonly stackId: string;
  readonly terminationProtection: boolean;
  readonly retained: readonly RetainedResource[];
}

interface TemplateResource {
  readonly Type?: string;
  readonly DeletionPolicy?: unknown;
  readonly Properties?: Record<string, unknown>;
}

/** The Resources section of a template body, JSON (what cdk deploys) or YAML. */
export function templateResources(body: string): Record<string, TemplateResource> {
  let template: unknown;
  try {
    template = JSON.parse(body);
  } catch {
    // YAML short forms (!Ref) come back as plain values: only DeletionPolicy and Type are read.
    template = parseYaml(body, { logLevel: 'silent' });
  }
  const resources = (template as { Resources?: unknown } | null)?.Resources;
  return typeof resources === 'object' && resources !== null ? (resources as Record<string, TemplateResource>) : {};
}

/** The logical id a `{ Ref: X }` names, if the value is one. */
function refOf(value: unknown): string | undefined {
  const ref = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? ref : undefined;
}

/**
 * The resources of `template` a deletion keeps, among those the stack really has (`resources`,
 * from ListStackResources: a resource whose Condition is false, or that was never created or is
 * already deleted, has no physical id there and is left out), in template order.
 */
export function retainedResources(stackName: string, template: Record<string, TemplateResource>, resources: readonly StackResourceSummary[]): RetainedResource[] {
  const deployed = new Map(resources.filter((resource) => resource.PhysicalResourceId && resource.ResourceStatus !== 'DELETE_COMPLETE').map((resource) => [resource.LogicalResourceId, resource]));
  const logsFrom = new Map<string, string[]>();
  for (const [logicalId, resource] of Object.entries(template)) {
    const destination = refOf((resource.Properties?.LoggingConfiguration as { DestinationBucketName?: unknown } | undefined)?.DestinationBucketName);
    if (resource.Type === 'AWS::S3::Bucket' && destination !== undefined) logsFrom.set(destination, [...(logsFrom.get(destination) ?? []), logicalId]);
  }
  return Object.entries(template).flatMap(([logicalId, resource]): RetainedResource[] => {
    const summary = deployed.get(logicalId);
    // A DeletionPolicy set with Fn::If is not a string: not read here (dynalake's templates use none).
    if (summary === undefined || typeof resource.DeletionPolicy !== 'string' || !RETAINING_POLICIES.includes(resource.DeletionPolicy)) return [];
    const properties = resource.Properties ?? {};
    const versioning = (properties.VersioningConfiguration as { Status?: unknown } | undefined)?.Status;
    return [
      {
        stackName,
        logicalId,
        type: summary.ResourceType ?? resource.Type ?? 'unknown',
        physicalId: summary.PhysicalResourceId ?? '',
        deletionProtection: properties.DeletionProtectionEnabled === true || properties.DeletionProtectionEnabled === 'true',
        versioned: versioning === 'Enabled' || versioning === 'Suspended',
        logsFrom: logsFrom.get(logicalId) ?? [],
      },
    ];
  });
}

/** Whether an SDK error says the stack does not exist (CloudFormation answers ValidationError). */
function isMissingStack(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && error.message.includes('does not exist');
}

/** Every resource summary of a stack, page after page. */
async function listResources(client: CloudFormationClient, stackName: string): Promise<StackResourceSummary[]> {
  const summaries: StackResourceSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: nextToken }));
    summaries.push(...(page.StackResourceSummaries ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return summaries;
}

/** Reads a deployed stack and what its deletion would keep; undefined when the stack is not deployed. */
export async function readDeployedStack(client: CloudFormationClient, stackName: string): Promise<DeployedStack | undefined> {
  let described;
  try {
    described = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
  const stack = described.Stacks?.[0];
  if (stack?.StackId === undefined) return undefined;
  // The template as deployed (Original: as submitted; a Processed one differs only by expanded transforms).
  const template = await client.send(new GetTemplateCommand({ StackName: stack.StackId, TemplateStage: 'Original' }));
  const resources = await listResources(client, stack.StackId);
  return {
    stackName,
    stackId: stack.StackId,
    terminationProtection: stack.EnableTerminationProtection === true,
    retained: retainedResources(stackName, templateResources(template.TemplateBody ?? '{}'), resources),
  };
}

/**
 * The status of a stack by its unique id, which a deleted stack keeps for 90 days:
 * DELETE_COMPLETE once `cdk destroy` removed it. ("Deleted stacks: You must specify the unique
 * stack ID", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html)
 */
export async function stackStatus(client: CloudFormationClient, stackId: string): Promise<string | undefined> {
  try {
    const described = await client.send(new DescribeStacksCommand({ StackName: stackId }));
    return described.Stacks?.[0]?.StackStatus;
  } catch (error) {
    if (isMissingStack(error)) return 'DELETE_COMPLETE';
    throw error;
  }
}
