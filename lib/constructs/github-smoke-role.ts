import { Duration, Stack, Token } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IOidcProvider, OidcProviderNative, PolicyStatement, Role, WebIdentityPrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeAtSynth, acknowledgeWildcards, prefixWildcardReason, type WildcardReasons } from '../nag';
import { GITHUB_ENVIRONMENT, GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_ISSUER, GITHUB_REPOSITORY } from './github-deploy-roles';

/** The keys under one folder of a bucket: `prefix` ends in `/`, so `<prefix>*` never reaches a sibling folder (`cdc/orders/*`, not `cdc/orders2/`). */
export interface SmokeFolder {
  /** The bucket. */
  readonly bucket: IBucket;
  /** The folder, ending in `/` (`cdc/orders/`). */
  readonly prefix: string;
}

/** Properties of {@link GitHubSmokeRole}. */
export interface GitHubSmokeRoleProps {
  /** The repository whose workflow runs the smoke test, `owner/name`: jobs of its `environment`, and no other repository's, may assume the role. */
  readonly repository: string;
  /** The GitHub environment the smoke test runs in: the stage it checks (`dev`, `prod`). */
  readonly environment: string;
  /** The role's name (`<prefix>-<stage>-github-smoke`). */
  readonly roleName: string;
  /**
   * The account's GitHub OIDC provider.
   * @default - the one the deploy-access stack creates, whose ARN is fixed: `arn:<partition>:iam::<account>:oidc-provider/token.actions.githubusercontent.com`
   */
  readonly oidcProviderArn?: string;
  /** The stacks whose outputs the smoke test reads (cloudformation:DescribeStacks), by name. */
  readonly stackNames: readonly string[];
  /** The table the smoke test writes its items to, reads them back from and deletes them from. */
  readonly table: ITable;
  /**
   * What the partition key of every item the role may put, get or delete starts with.
   * @default 'SMOKE-'
   */
  readonly testKeyPrefix?: string;
  /** Where the stream bridge lands the table's change objects (the landing bucket, `cdc/<dataset>/`). */
  readonly changes: SmokeFolder;
  /** The Glue workflow the smoke test starts and follows (the refresh workflow). */
  readonly workflowName: string;
  /** The Athena query the smoke test runs: the workgroup, the catalog table it reads and where its data and results are. */
  readonly query: {
    /** The workgroup (its configuration is enforced: it decides where results go). */
    readonly workgroupName: string;
    /** ARN of the account's Data Catalog (`arn:…:glue:<region>:<account>:catalog`). */
    readonly catalogArn: string;
    /** ARN of the database of the table queried. */
    readonly databaseArn: string;
    /** ARN of the table queried. */
    readonly tableArn: string;
    /** The table's data. */
    readonly data: SmokeFolder;
    /** The workgroup's result location. */
    readonly results: SmokeFolder;
  };
  /**
   * The customer-managed key of the table and buckets, when they have one.
   * @default - AWS-owned table encryption and S3-managed bucket encryption: no key to use
   */
  readonly dataKey?: IKey;
}

/** The smoke test's partition keys by default: `SMOKE-<12 hex>`. */
export const DEFAULT_SMOKE_KEY_PREFIX = 'SMOKE-';

// Stack names: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
// Role names: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/;
// Glue and Athena names: letters, digits and `._-` (no IAM wildcard).
const PLAIN_NAME = /^[A-Za-z0-9._-]{1,255}$/;
// A folder: no leading slash, ends in one, no IAM wildcard (`*`, `?`) or policy variable (`$`).
const FOLDER = /^[^/*?$][^*?$]*\/$/;
const KEY_PREFIX = /^[^*?$]+$/;

/**
 * The role GitHub Actions runs the smoke test of one stage with (`npm run smoke -- --stage <stage>`,
 * after each deploy), through OIDC. Its trust is the deploy role's: the account's GitHub provider,
 * audience STS and subject `repo:<owner>/<name>:environment:<stage>` exactly. It may do what the
 * smoke test does and nothing else: read the outputs of the stage's stacks; put, get and delete
 * items whose partition key starts with `SMOKE-` in the one table; read the table's change objects;
 * start and follow the refresh workflow; query the one catalog table in the one workgroup, with the
 * catalog reads and S3 reads and writes Athena makes with the caller's permissions; and use the data
 * key for those, through DynamoDB and S3 only. The deploy roles stay held to the CDK bootstrap roles.
 */
export class GitHubSmokeRole extends Construct {
  /** The OIDC provider the role trusts. */
  readonly provider: IOidcProvider;
  /** The role. */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: GitHubSmokeRoleProps) {
    super(scope, id);
    const fail = (message: string): never => {
      throw new Error(`${this.node.path}: ${message}`);
    };
    const literal = (value: string) => !Token.isUnresolved(value);
    if (!GITHUB_REPOSITORY.test(props.repository)) fail(`repository ${JSON.stringify(props.repository)} is not a GitHub repository (expected owner/name)`);
    if (!GITHUB_ENVIRONMENT.test(props.environment)) fail(`environment ${JSON.stringify(props.environment)} is not a GitHub environment name`);
    if (literal(props.roleName) && !ROLE_NAME.test(props.roleName)) fail(`roleName ${JSON.stringify(props.roleName)} is not an IAM role name (1 to 64 letters, digits or +=,.@_-)`);
    if (props.oidcProviderArn !== undefined && literal(props.oidcProviderArn) && !OIDC_PROVIDER_ARN.test(props.oidcProviderArn)) {
      fail(`oidcProviderArn ${JSON.stringify(props.oidcProviderArn)} is not the ARN of a GitHub OIDC provider (expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)`);
    }
    if (props.stackNames.length === 0) fail('stackNames must name at least one stack');
    for (const name of props.stackNames) {
      if (literal(name) && !STACK_NAME.test(name)) fail(`stack name ${JSON.stringify(name)} is not a CloudFormation stack name`);
    }
    const keyPrefix = props.testKeyPrefix ?? DEFAULT_SMOKE_KEY_PREFIX;
    if (!KEY_PREFIX.test(keyPrefix)) fail(`testKeyPrefix ${JSON.stringify(keyPrefix)} is not a key prefix (at least one character, no * ? or $): the role could reach other items`);
    for (const [name, value] of [['workflowName', props.workflowName], ['query.workgroupName', props.query.workgroupName]] as const) {
      if (literal(value) && !PLAIN_NAME.test(value)) fail(`${name} ${JSON.stringify(value)} is not a Glue or Athena name (letters, digits and ._-)`);
    }
    const folders = { changes: props.changes, 'query.data': props.query.data, 'query.results': props.query.results };
    for (const [name, folder] of Object.entries(folders)) {
      if (!FOLDER.test(folder.prefix)) fail(`${name}.prefix ${JSON.stringify(folder.prefix)} is not a folder (ends in /, no leading /, no * ? or $)`);
    }

    const stack = Stack.of(this);
    // The deploy-access stack's provider has this ARN: IAM names an OIDC provider after its issuer.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
    const providerArn = props.oidcProviderArn ?? stack.formatArn({ service: 'iam', region: '', resource: 'oidc-provider', resourceName: GITHUB_OIDC_ISSUER });
    this.provider = OidcProviderNative.fromOidcProviderArn(this, 'GitHub', providerArn);
    this.role = new Role(this, 'Role', {
      roleName: props.roleName,
      description: `Runs the smoke test of ${props.repository} from its GitHub environment ${props.environment}`,
      maxSessionDuration: Duration.hours(1),
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub
      assumedBy: new WebIdentityPrincipal(this.provider.openIdConnectProviderArn, {
        StringEquals: { [`${GITHUB_OIDC_ISSUER}:aud`]: GITHUB_OIDC_AUDIENCE, [`${GITHUB_OIDC_ISSUER}:sub`]: `repo:${props.repository}:environment:${props.environment}` },
      }),
    });
    const allow = (actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>) =>
      this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources, conditions }));
    const under = ({ prefix }: SmokeFolder) => `${prefix}*`;
    const viaService = (service: string) => ({ StringEquals: { 'kms:ViaService': `${service}.${stack.region}.amazonaws.com` } });

    // 1. The stacks' outputs. DescribeStacks takes the stack resource type, whose ARN ends in the
    // id CloudFormation gives the stack at creation: the name is fixed, the id is not.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html
    const stackArns = props.stackNames.map((name) => stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${name}/*` }));
    allow(['cloudformation:DescribeStacks'], stackArns);

    // 2. The smoke test's own items: PutItem and DeleteItem take the table resource type and
    // the dynamodb:LeadingKeys condition key (the partition key values of the request).
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
    allow(['dynamodb:PutItem', 'dynamodb:DeleteItem'], [props.table.tableArn], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${keyPrefix}*`] } });

    // 3. The change objects of its items: listed under their folder and read. Not s3-grants'
    // grantPrefixRead: that is EMRFS's access (ListBucket on the whole bucket, the parent folders'
    // marker keys); the smoke test calls the S3 API with the folder as its prefix.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html (s3:prefix on ListBucket)
    allow(['s3:ListBucket'], [props.changes.bucket.bucketArn], { StringLike: { 's3:prefix': [under(props.changes)] } });
    allow(['s3:GetObject'], [props.changes.bucket.arnForObjects(under(props.changes))]);

    // 4. The refresh workflow: GetWorkflow (its last run) and StartWorkflowRun take the workflow resource type.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsglue.html
    allow(['glue:GetWorkflow', 'glue:StartWorkflowRun'], [stack.formatArn({ service: 'glue', resource: 'workflow', resourceName: props.workflowName })]);

    // 5. The query (started, followed, its result read). The three Athena actions take the workgroup resource type.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonathena.html
    const { query } = props;
    allow(
      ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
      [stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: query.workgroupName })],
    );
    // Athena reads the catalog with the caller's permissions, each action on the table and its
    // ancestors (the database and the catalog); partitions are read with glue:GetPartitions on the
    // same three. A partition-projected table needs no partition reads, but the grant keeps the
    // query working if projection is ever turned off.
    // https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html
    allow(['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'], [query.catalogArn, query.databaseArn, query.tableArn]);
    // Athena also reads the `default` database of the Region's catalog (the same page: "Configure
    // AWS Glue access to catalogs and databases per AWS Region"): its metadata only.
    allow(['glue:GetDatabase'], [stack.formatArn({ service: 'glue', resource: 'database', resourceName: 'default' })]);
    // ... and S3 with them too: the table's objects, and the results it writes and the caller reads back.
    // https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html
    allow(['s3:ListBucket'], [query.data.bucket.bucketArn], { StringLike: { 's3:prefix': [under(query.data)] } });
    allow(['s3:GetObject'], [query.data.bucket.arnForObjects(under(query.data))]);
    allow(['s3:ListBucket'], [query.results.bucket.bucketArn], { StringLike: { 's3:prefix': [under(query.results)] } });
    allow(['s3:GetBucketLocation'], [query.data.bucket.bucketArn, query.results.bucket.bucketArn]);
    allow(['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], [query.results.bucket.arnForObjects(under(query.results))]);

    const { dataKey } = props;
    if (dataKey) {
      // DynamoDB decrypts the table key with the caller's permissions when it accesses the table
      // (GenerateDataKey and CreateGrant happen when the table is created, not here).
      // https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html
      allow(['kms:Decrypt'], [dataKey.keyArn], viaService('dynamodb'));
      // S3 decrypts what the role reads and generates the data key of what Athena writes for it.
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
      allow(['kms:Decrypt', 'kms:GenerateDataKey'], [dataKey.keyArn], viaService('s3'));
    }

    acknowledgeAtSynth(this, () => {
      const reasons: WildcardReasons = [
        [/Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack\/[A-Za-z][A-Za-z0-9-]*\/\*/, "a stack's ARN ends in the id CloudFormation gives it when it creates the stack; the name before it is exact", /cloudformation:DescribeStacks/, new RegExp(`${escape(this.node.path)}/.+`)],
        prefixWildcardReason(this, props.changes.bucket, under(props.changes), 'read'),
        prefixWildcardReason(this, query.data.bucket, under(query.data), 'read'),
        prefixWildcardReason(this, query.results.bucket, under(query.results), 'write'),
      ];
      acknowledgeWildcards(this, reasons);
    });
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
