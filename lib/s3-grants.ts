import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';

/**
 * S3 grants of a Glue job role over one prefix, as Hadoop's S3 file system (EMRFS on Glue) uses
 * S3, not only as the script's paths suggest. What it does beyond the prefix, and why each grant:
 * - it lists from the bucket root and each parent folder to resolve a path, so s3:ListBucket
 *   holds for the whole bucket, as Glue's own AWSGlueServiceRole grants it (with
 *   s3:GetBucketLocation; https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSGlueServiceRole.html).
 *   A listing shows key names, never content;
 * - it HEADs each parent folder (`curated/orders`, `curated`) and writes empty folder markers
 *   (`curated/`, `curated_$folder$`) when it creates a folder: those exact keys are granted, never
 *   a wildcard around them (https://repost.aws/knowledge-center/emr-s3-empty-files);
 * - its committers upload in parts and abort what a failed task left (s3:AbortMultipartUpload,
 *   s3:ListMultipartUploadParts on the prefix, s3:ListBucketMultipartUploads on the bucket).
 * Reads and writes of data stay held to the prefix.
 */

/**
 * The keys under a folder-like prefix, and the folder's own marker objects: Spark's S3 layer
 * reads and writes `curated/orders` and `curated/orders_$folder$` besides `curated/orders/…`.
 */
export function prefixPattern(prefix: string): string {
  return `${prefix.replace(/\/$/, '')}*`;
}

/** The marker keys of each parent folder of a prefix: `curated`, `curated/` and `curated_$folder$` for `curated/orders/`. */
export function parentFolderMarkers(prefix: string): string[] {
  const folders = prefix.replace(/\/$/, '').split('/').slice(0, -1);
  return folders.flatMap((_, index) => {
    const folder = folders.slice(0, index + 1).join('/');
    return [folder, `${folder}/`, `${folder}_$folder$`];
  });
}

/** Lets `role` read the objects under `prefix` of `bucket`, as EMRFS reads them. */
export function grantPrefixRead(role: Role, bucket: IBucket, prefix: string): void {
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(prefixPattern(prefix))] }));
  const parents = parentFolderMarkers(prefix);
  // EMRFS HEADs each parent folder to resolve the path: empty marker keys, never data.
  if (parents.length > 0) role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: parents.map((key) => bucket.arnForObjects(key)) }));
  // EMRFS lists from the root and the parent folders (as AWSGlueServiceRole allows): names, not content.
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [bucket.bucketArn] }));
}

/** Lets `role` read, write and delete the objects under `prefix` of `bucket`, as EMRFS and its committers do. */
export function grantPrefixWrite(role: Role, bucket: IBucket, prefix: string): void {
  grantPrefixRead(role, bucket, prefix);
  role.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], resources: [bucket.arnForObjects(prefixPattern(prefix))] }),
  );
  const parents = parentFolderMarkers(prefix);
  // Creating a folder writes the markers of its parents: empty objects, exact keys.
  if (parents.length > 0) role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: parents.map((key) => bucket.arnForObjects(key)) }));
  // Committers find the uploads a failed task left, to abort them.
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucketMultipartUploads'], resources: [bucket.bucketArn] }));
}
