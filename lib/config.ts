import { z } from 'zod';
import { isAwsCronExpression } from './cron';

/** The cdk.json context key that holds the pipeline configuration. */
export const CONFIG_CONTEXT_KEY = 'dynalake';

/**
 * One configuration key: its schema, what it does, and the phrase that follows the rejected
 * value in an error (`dynalake.alertEmail: "bob@" is not an e-mail address`).
 * The README's configuration table is generated from these, so the docs cannot drift.
 */
interface ConfigField<T extends z.ZodType> {
  readonly schema: T;
  readonly description: string;
  readonly invalid: string;
}

function field<T extends z.ZodType>(schema: T, description: string, invalid: string): ConfigField<T> {
  return { schema, description, invalid };
}

const awsCron = z.string().refine(isAwsCronExpression);
/** Whether the runtime's time-zone database knows `name`, the IANA database EventBridge Scheduler uses. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name }); // throws RangeError on an unknown name, '' included
  } catch {
    return false;
  }
  return true;
}
const CRON_FORM = 'cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 * * * ? *)';
/** The retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Every configuration key, in the order the README lists them. */
export const CONFIG_FIELDS = {
  stage: field(
    z.string().regex(/^[a-z][a-z0-9-]{0,14}$/).default('dev'),
    'Deployment stage. `prod` turns on table deletion protection and stack termination protection, and forbids `removalPolicy: destroy`.',
    'is not a stage name (expected 1-15 lowercase letters, digits or hyphens, starting with a letter)',
  ),
  prefix: field(
    z.string().regex(/^[a-z][a-z0-9-]{0,19}$/).default('dynalake'),
    'Prefix of the names users type (stacks, exports, Glue jobs and workflow): `<prefix>-<stage>-…`.',
    'is not a name prefix (expected 1-20 lowercase letters, digits or hyphens, starting with a letter)',
  ),
  removalPolicy: field(
    z.enum(['retain', 'destroy']).default('retain'),
    'What `cdk destroy` does to tables and buckets. `destroy` also empties the buckets first.',
    'is not a removal policy (expected "retain" or "destroy")',
  ),
  alertEmail: field(
    z.email().optional(),
    'E-mail address subscribed to pipeline failure alerts. Unset: alerts go to the topic only.',
    'is not an e-mail address',
  ),
  refreshSchedule: field(
    awsCron.default('cron(0 * * * ? *)'),
    'When the refresh workflow runs, in `refreshTimeZone` (an EventBridge Scheduler schedule), besides the stream bridge starting it after changes.',
    `is not an AWS cron expression (expected ${CRON_FORM})`,
  ),
  refreshTimeZone: field(
    z.string().refine(isTimeZone).default('UTC'),
    'The time zone of `refreshSchedule` (an IANA name such as `Europe/Paris`); EventBridge Scheduler follows its daylight saving time.',
    'is not an IANA time zone (expected a name such as UTC or Europe/Paris)',
  ),
  freshnessObjectiveMinutes: field(
    z.coerce.number().int().min(1).max(1440).default(30),
    'The worst lake freshness allowed, in minutes: an alarm fires when a refresh merges a change older than this, and another when no refresh reported for two of `refreshSchedule`\'s longest waits.',
    'is not a freshness objective (expected a whole number of minutes from 1 to 1440)',
  ),
  catalogCrawlSchedule: field(
    awsCron.default('cron(0 8 * * ? *)'),
    'When the crawlers over the DynamoDB tables refresh the Glue catalog (UTC).',
    `is not an AWS cron expression (expected ${CRON_FORM})`,
  ),
  encryption: field(
    z.enum(['default', 'kms']).default('default'),
    '`default`: S3-managed keys for buckets, AWS-owned keys for tables. `kms`: one customer-managed KMS key with yearly rotation for both.',
    'is not an encryption mode (expected "default" or "kms")',
  ),
  glueWorkerType: field(
    z.enum(['G.1X', 'G.2X', 'G.4X', 'G.8X']).default('G.1X'),
    'Worker type of the Glue jobs.',
    'is not a Glue worker type (expected "G.1X", "G.2X", "G.4X" or "G.8X")',
  ),
  glueWorkerCount: field(
    z.coerce.number().int().min(2).max(299).default(2),
    'Workers per Glue job run.',
    'is not a worker count (expected a whole number from 2 to 299)',
  ),
  glueJobTimeoutMinutes: field(
    z.coerce.number().int().min(1).max(2880).default(60),
    'Minutes before a Glue job run is stopped and reported as TIMEOUT.',
    'is not a timeout (expected a whole number of minutes from 1 to 2880)',
  ),
  csvLoadMaxConcurrentRuns: field(
    z.coerce.number().int().min(1).max(100).default(3),
    'Runs of `csv_to_dynamodb` at once (one per uploaded file); every other job runs one at a time.',
    'is not a run count (expected a whole number from 1 to 100)',
  ),
  dynamoWritePercent: field(
    z.coerce.number().min(0.1).max(1.5).default(0.5),
    "Share of the orders table's write capacity `csv_to_dynamodb` may use (Glue's `dynamodb.throughput.write.percent`).",
    'is not a write percent (expected a number from 0.1 to 1.5)',
  ),
  streamBatchSize: field(
    z.coerce.number().int().min(1).max(10_000).default(1000),
    'Most stream records per `stream-to-lake` invocation, hence per change object in `cdc/`.',
    'is not a batch size (expected a whole number from 1 to 10000)',
  ),
  streamBatchingWindowSeconds: field(
    z.coerce.number().int().min(0).max(300).default(30),
    'Seconds `stream-to-lake` waits to fill a batch: fewer, larger change objects and workflow starts.',
    'is not a batching window (expected a whole number of seconds from 0 to 300)',
  ),
  cdcRetentionDays: field(
    z.coerce.number().int().min(1).max(3650).default(30),
    'Days a change object stays in `cdc/` before a lifecycle rule expires it. The jobs keep their own state and let expired objects go; keep it longer than the longest time the refresh workflow may stay stopped, or changes expire unmerged.',
    'is not a retention (expected a whole number of days from 1 to 3650)',
  ),
  githubRepository: field(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/).optional(),
    'The GitHub repository (`owner/name`) whose workflows deploy: set, the app adds the `<prefix>-deploy-access` stack, its OIDC trust and one role per `githubDeployStages` environment. Unset: no such stack.',
    'is not a GitHub repository (expected owner/name)',
  ),
  githubDeployStages: field(
    z
      .preprocess((value) => (typeof value === 'string' ? value.split(',').map((stage) => stage.trim()) : value), z.array(z.string().regex(/^[a-z][a-z0-9-]{0,14}$/)).min(1))
      .default(['dev', 'prod']),
    'The stages deployed from GitHub, each a GitHub environment of that name with a deploy role of its own (`<prefix>-github-deploy-<stage>`).',
    'is not a list of stage names (expected stage names such as ["dev","prod"] or "dev,prod")',
  ),
  githubOidcProviderArn: field(
    z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/).optional(),
    "The account's GitHub OIDC provider, when it already has one (an account has one per issuer). Unset: the deploy-access stack creates it.",
    'is not the ARN of a GitHub OIDC provider (expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)',
  ),
  logRetentionDays: field(
    z.coerce
      .number()
      .int()
      .refine((days) => LOG_RETENTION_DAYS.includes(days))
      .default(30),
    "Days the Lambdas' CloudWatch logs are kept.",
    `is not a CloudWatch retention (expected one of ${LOG_RETENTION_DAYS.join(', ')})`,
  ),
} as const;

type FieldName = keyof typeof CONFIG_FIELDS;
const FIELD_NAMES = Object.keys(CONFIG_FIELDS) as FieldName[];

const configSchema = z
  .strictObject(
    Object.fromEntries(FIELD_NAMES.map((name) => [name, CONFIG_FIELDS[name].schema])) as {
      [K in FieldName]: (typeof CONFIG_FIELDS)[K]['schema'];
    },
  )
  .superRefine((config, ctx) => {
    if (config.stage === 'prod' && config.removalPolicy === 'destroy') {
      ctx.addIssue({
        code: 'custom',
        path: ['removalPolicy'],
        message: 'is not allowed when stage is "prod" (expected "retain")',
        params: { crossField: true },
      });
    }
  });

/** The validated pipeline configuration, with every default applied. */
export type PipelineConfig = z.output<typeof configSchema>;

/** Configuration as written in cdk.json or on the command line, before validation. */
export type PipelineConfigInput = z.input<typeof configSchema>;

/** Thrown when the configuration is invalid; `problems` holds one line per problem. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';

  constructor(readonly problems: readonly string[]) {
    super(`Invalid dynalake configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates raw configuration (the `dynalake` context object) and applies defaults.
 * @throws ConfigError naming each offending key, its value and the expected form.
 */
export function parseConfig(raw: unknown): PipelineConfig {
  const input = raw ?? {};
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;

  const values = (typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const problems = result.error.issues.flatMap((issue): string[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (key) => `${CONFIG_CONTEXT_KEY}.${key}: is not a configuration key (expected one of ${FIELD_NAMES.join(', ')})`,
      );
    }
    const name = issue.path[0];
    // A key the schema does not know is an unrecognized_keys issue (above): a string here is a field.
    if (typeof name !== 'string') {
      return [`${CONFIG_CONTEXT_KEY}: ${JSON.stringify(input)} is not a configuration object (expected a JSON object)`];
    }
    // Cross-field rules carry their own phrase; everything else is the field's one form.
    const crossField = issue.code === 'custom' && issue.params?.crossField === true;
    const phrase = crossField ? issue.message : CONFIG_FIELDS[name as FieldName].invalid;
    return [`${CONFIG_CONTEXT_KEY}.${name}: ${JSON.stringify(values[name])} ${phrase}`];
  });
  throw new ConfigError(problems);
}

/** Reads context the way a construct node does (`node.tryGetContext`, `node.getAllContext`). */
export interface ContextSource {
  tryGetContext(key: string): unknown;
  getAllContext(): Record<string, unknown>;
}

/**
 * Reads the configuration from CDK context: the `dynalake` object from cdk.json, then any
 * `--context dynalake.<key>=<value>` override on top of it.
 * @throws ConfigError when the result is invalid.
 */
export function configFromContext(context: ContextSource): PipelineConfig {
  let base: unknown = context.tryGetContext(CONFIG_CONTEXT_KEY);
  if (typeof base === 'string') {
    // `--context dynalake='{"stage":"prod"}'` arrives as a string. Text that is not JSON stays a
    // string, which parseConfig refuses as not a configuration object.
    try {
      base = JSON.parse(base) as unknown;
    } catch {
      // left as it is
    }
  }
  base ??= {}; // absent or null (`--context dynalake=null`): the defaults, overrides still on top
  if (typeof base !== 'object' || Array.isArray(base)) return parseConfig(base);
  const overrides = Object.entries(context.getAllContext())
    .filter(([key]) => key.startsWith(`${CONFIG_CONTEXT_KEY}.`))
    .map(([key, value]) => [key.slice(CONFIG_CONTEXT_KEY.length + 1), value] as const);
  return parseConfig({ ...base, ...Object.fromEntries(overrides) });
}

/** One row of the README configuration table. */
export interface ConfigDocRow {
  readonly key: string;
  readonly default: string;
  readonly description: string;
}

/** The configuration reference, derived from the schema (the README table is generated from it). */
export function configReference(): ConfigDocRow[] {
  const defaults = parseConfig({});
  return FIELD_NAMES.map((name) => ({
    key: name,
    default: defaults[name] === undefined ? '(unset)' : JSON.stringify(defaults[name]),
    description: CONFIG_FIELDS[name].description,
  }));
}
