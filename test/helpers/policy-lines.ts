/**
 * IAM grants as one line each (`Allow <action> <resource> [if <condition>]`), the form
 * test/helpers/template-values.ts gives a synthesized policy in, so a test writes out the closed set
 * a role must hold and any changed action, resource or condition fails it.
 */

/** Policy lines allowing each action on each resource, under `condition` when given. */
export function allow(actions: readonly string[], resources: readonly string[], condition?: unknown): string[] {
  return actions.flatMap((action) => resources.map((resource) => `Allow ${action} ${resource}${condition === undefined ? '' : ` if ${JSON.stringify(condition)}`}`));
}

/** The closed set: duplicates are the same grant, order does not matter. */
export const closed = (...groups: string[][]): string[] => [...new Set(groups.flat())].sort();

/** An ARN of this stack's account and Region, as the templates write it. */
export const inRegion = (service: string, resource: string): string => `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`;

/** The storage stack's buckets and tables as the pipeline stack's policies reference them (template-values' `${storage:<path>.Arn}`). */
export const STORAGE = {
  landing: '${storage:Buckets/Landing.Arn}',
  lake: '${storage:Buckets/Lake.Arn}',
  assets: '${storage:Buckets/Assets.Arn}',
  ordersTable: '${storage:Orders/Table.Arn}',
  uploadsTable: '${storage:Uploads/Table.Arn}',
  dataKey: '${storage:DataKey.Arn}',
} as const;
