/**
 * The list printed after `cdk destroy`: the resources CloudFormation kept, grouped by kind, each
 * with the AWS CLI commands that remove it, in an order in which they work.
 */
import type { RetainedResource } from './retained';

/** The groups, in the order their commands are meant to run: the keys last, since the rest may be encrypted with them. */
export const GROUPS = [
  { title: 'DynamoDB tables', types: ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable'] },
  { title: 'S3 buckets', types: ['AWS::S3::Bucket'] },
  { title: 'CloudWatch log groups', types: ['AWS::Logs::LogGroup'] },
  { title: 'Other', types: [] },
  { title: 'KMS keys', types: ['AWS::KMS::Key'] },
] as const;

const KNOWN_TYPES: readonly string[] = GROUPS.flatMap((group) => group.types);

/** A shell word: quoted unless it is only characters the shell leaves alone. */
function word(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** An AWS CLI command line, with --region when one was given. */
function aws(region: string | undefined, ...args: string[]): string {
  return ['aws', ...args, ...(region === undefined ? [] : ['--region', region])].join(' ');
}

/**
 * Empties a versioned bucket with the AWS CLI: list-object-versions returns at most 1,000 versions
 * and delete markers a call (without --no-paginate the CLI would fetch them all) and
 * delete-objects takes at most 1,000, so the loop runs until none is left.
 *
 * `aws s3 rm --recursive` (and `aws s3 rb --force`) only add delete markers in a versioned bucket:
 * "versioned objects will not be deleted in this process which would cause the bucket deletion to
 * fail" (https://docs.aws.amazon.com/cli/latest/reference/s3/rb.html), and "All objects
 * (including all object versions and delete markers) in the bucket must be deleted before the
 * bucket itself can be deleted"; the S3 console's Empty action deletes every version
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/empty-bucket.html).
 */
export function emptyVersionedBucket(bucket: string, region?: string): string {
  const count = aws(region, 's3api', 'list-object-versions', '--bucket', word(bucket), '--no-paginate', '--output', 'text', '--query', "'length([Versions, DeleteMarkers][])'");
  const batch = aws(region, 's3api', 'list-object-versions', '--bucket', word(bucket), '--no-paginate', '--output', 'json', '--query', "'{Objects: [Versions, DeleteMarkers][].{Key: Key, VersionId: VersionId}, Quiet: `true`}'");
  return `while [ "$(${count})" != 0 ]; do ${aws(region, 's3api', 'delete-objects', '--bucket', word(bucket), '--delete', `"$(${batch})"`)} > /dev/null || break; done`;
}

/** The comment and command lines that remove one resource, indented under it. */
function removal(resource: RetainedResource, region: string | undefined): string[] {
  const id = word(resource.physicalId);
  switch (resource.type) {
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return [
        ...(resource.deletionProtection ? ['# deletion protection is on (prod): turn it off first', aws(region, 'dynamodb', 'update-table', '--table-name', id, '--no-deletion-protection-enabled')] : []),
        aws(region, 'dynamodb', 'delete-table', '--table-name', id),
      ];
    case 'AWS::S3::Bucket':
      return [
        ...(resource.logsFrom.length > 0
          ? [`# the access logs of ${resource.logsFrom.join(', ')}: deleted last, as their last logs may arrive hours later (empty it again if delete-bucket says BucketNotEmpty)`]
          : []),
        ...(resource.versioned
          ? ['# versioned: every object version and delete marker must go (aws s3 rm --recursive leaves them); the S3 console\'s Empty action does it, or:', emptyVersionedBucket(resource.physicalId, region)]
          : [aws(region, 's3', 'rm', `s3://${id}`, '--recursive')]),
        aws(region, 's3api', 'delete-bucket', '--bucket', id),
      ];
    case 'AWS::Logs::LogGroup':
      return [aws(region, 'logs', 'delete-log-group', '--log-group-name', id)];
    case 'AWS::KMS::Key':
      return [aws(region, 'kms', 'schedule-key-deletion', '--key-id', id, '--pending-window-in-days', '30')];
    default:
      return [`# ${resource.type}: no command here; remove it with its service's console or CLI`];
  }
}

/** Buckets that others log to after those others (in a stack's order otherwise). */
function bucketOrder(resources: readonly RetainedResource[]): RetainedResource[] {
  return [...resources.filter((resource) => resource.logsFrom.length === 0), ...resources.filter((resource) => resource.logsFrom.length > 0)];
}

/** The printed list of what the deletion kept, or the line saying nothing was. */
export function formatRetained(retained: readonly RetainedResource[], deletedStacks: readonly string[], region?: string): string[] {
  const stacks = deletedStacks.join(' and ');
  if (retained.length === 0) return [`Nothing retained: deleting ${stacks} removed every resource of ${deletedStacks.length === 1 ? 'it' : 'them'}.`];
  const lines = [
    `Retained: ${retained.length} resource${retained.length === 1 ? '' : 's'} of ${stacks} still exist${retained.length === 1 ? 's' : ''} (DeletionPolicy Retain, removalPolicy retain).`,
    'To remove them, run these commands in this order: tables, buckets (the access-logs bucket last), log groups, then the keys.',
  ];
  for (const group of GROUPS) {
    const types: readonly string[] = group.types;
    let members = retained.filter((resource) => (types.length === 0 ? !KNOWN_TYPES.includes(resource.type) : types.includes(resource.type)));
    if (members.length === 0) continue;
    if (group.title === 'S3 buckets') members = bucketOrder(members);
    lines.push('', `${group.title} (${members.length})`);
    if (group.title === 'KMS keys') {
      lines.push(
        '  # Last, once nothing encrypted with them is needed: what a key encrypted (table backups, objects, logs) can no longer be read once it is gone.',
        '  # AWS deletes a key after the waiting period (7 to 30 days); aws kms cancel-key-deletion --key-id ID undoes it until then.',
      );
    }
    for (const resource of members) {
      lines.push(`  ${resource.physicalId}  (${resource.stackName} ${resource.logicalId}${resource.type === 'AWS::DynamoDB::GlobalTable' || types.length === 0 ? `, ${resource.type}` : ''})`);
      lines.push(...removal(resource, region).map((line) => `    ${line}`));
    }
  }
  return lines;
}
