import type { PipelineConfigInput } from '../../../lib/config';
import { buildStacks } from '../../helpers/cdk-app';
import { accessControls, templateValues } from '../../helpers/template-values';

// Every access control of the storage stack, written out (references as construct paths,
// test/helpers/template-values.ts): a changed action, principal, condition or resource fails.

/** The statements every bucket policy holds: no plain HTTP, no TLS below 1.2, on the bucket and its objects. */
const tlsOnly = (bucket: string) =>
  [`\${${bucket}.Arn}`, `\${${bucket}.Arn}/*`].flatMap((resource) => [
    `Deny AWS:* s3:* ${resource} if {"Bool":{"aws:SecureTransport":"false"}}`,
    `Deny AWS:* s3:* ${resource} if {"NumericLessThan":{"s3:TlsVersion":1.2}}`,
  ]);

/** S3 server access logging may write each data bucket's logs under its own prefix, only from that bucket of this account. */
const logDelivery = ['assets', 'lake', 'landing'].map(
  (name) =>
    `Allow Service:logging.s3.amazonaws.com s3:PutObject \${Buckets/AccessLogs.Arn}/${name}/* if {"ArnLike":{"aws:SourceArn":"\${Buckets/${name.replace(/^\w/, (c) => c.toUpperCase())}.Arn}"},"StringEquals":{"aws:SourceAccount":"\${AWS::AccountId}"}}`,
);

/** aws-cdk-lib's auto-delete provider emptying a bucket before `cdk destroy` deletes it. */
const autoDelete = (bucket: string) =>
  ['s3:DeleteObject*', 's3:GetBucket*', 's3:List*', 's3:PutBucketPolicy'].flatMap((action) =>
    [`\${${bucket}.Arn}`, `\${${bucket}.Arn}/*`].map((resource) => `Allow AWS:\${Custom::S3AutoDeleteObjectsCustomResourceProvider/Role.Arn} ${action} ${resource}`),
  );

const sorted = (...groups: string[][]) => groups.flat().sort();

function storageControls(config: PipelineConfigInput = {}) {
  const { storage } = buildStacks(config);
  return accessControls(templateValues(storage));
}

describe('every access control of the storage stack with the default configuration', () => {
  const controls = storageControls();

  it('has bucket policies that refuse plain HTTP and old TLS, and let log delivery write the access logs, and nothing else', () => {
    expect(controls.bucketPolicies).toEqual({
      'Buckets/AccessLogs/Policy': { bucket: '${Buckets/AccessLogs}', allows: sorted(logDelivery, tlsOnly('Buckets/AccessLogs')) },
      'Buckets/Landing/Policy': { bucket: '${Buckets/Landing}', allows: sorted(tlsOnly('Buckets/Landing')) },
      'Buckets/Lake/Policy': { bucket: '${Buckets/Lake}', allows: sorted(tlsOnly('Buckets/Lake')) },
      'Buckets/Assets/Policy': { bucket: '${Buckets/Assets}', allows: sorted(tlsOnly('Buckets/Assets')) },
    });
  });

  it('has no role, key, topic, queue, rule or alarm', () => {
    expect({ ...controls, bucketPolicies: {} }).toEqual({ roles: {}, keyPolicies: {}, topicPolicies: {}, queuePolicies: {}, bucketPolicies: {}, lambdaPermissions: [], rules: {}, alarms: {} });
  });
});

describe('every access control of the storage stack with a customer-managed key and destroy', () => {
  const controls = storageControls({ stage: 'sandbox', encryption: 'kms', removalPolicy: 'destroy' });

  it('leaves the data key to the account’s IAM policies', () => {
    expect(controls.keyPolicies).toEqual({ DataKey: ['Allow AWS:arn:${AWS::Partition}:iam::${AWS::AccountId}:root kms:* *'] });
  });

  it('lets the auto-delete provider empty each bucket, and nothing else', () => {
    expect(controls.roles).toEqual({
      'Custom::S3AutoDeleteObjectsCustomResourceProvider/Role': {
        assumedBy: ['Allow Service:lambda.amazonaws.com sts:AssumeRole'],
        allows: [],
        managedPolicies: ['arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
    });
    expect(controls.bucketPolicies).toEqual({
      'Buckets/AccessLogs/Policy': { bucket: '${Buckets/AccessLogs}', allows: sorted(autoDelete('Buckets/AccessLogs'), logDelivery, tlsOnly('Buckets/AccessLogs')) },
      'Buckets/Landing/Policy': { bucket: '${Buckets/Landing}', allows: sorted(autoDelete('Buckets/Landing'), tlsOnly('Buckets/Landing')) },
      'Buckets/Lake/Policy': { bucket: '${Buckets/Lake}', allows: sorted(autoDelete('Buckets/Lake'), tlsOnly('Buckets/Lake')) },
      'Buckets/Assets/Policy': { bucket: '${Buckets/Assets}', allows: sorted(autoDelete('Buckets/Assets'), tlsOnly('Buckets/Assets')) },
    });
  });
});
