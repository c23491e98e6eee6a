import { ConfigError, configFromContext, configReference, parseConfig } from '../../lib/config';

/** A context source as a construct node presents it, built from a plain object. */
function context(values: Record<string, unknown>) {
  return {
    tryGetContext: (key: string): unknown => values[key],
    getAllContext: () => values,
  };
}

/** The problem lines a config produces, or [] when it is valid. */
function problemsOf(raw: unknown): readonly string[] {
  try {
    parseConfig(raw);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('parseConfig', () => {
  it('applies every default to an empty configuration', () => {
    expect(parseConfig({})).toEqual({
      stage: 'dev',
      prefix: 'dynalake',
      removalPolicy: 'retain',
      refreshSchedule: 'cron(0 * * * ? *)',
      refreshTimeZone: 'UTC',
      freshnessObjectiveMinutes: 30,
      catalogCrawlSchedule: 'cron(0 8 * * ? *)',
      encryption: 'default',
      glueWorkerType: 'G.1X',
      glueWorkerCount: 2,
      glueJobTimeoutMinutes: 60,
      csvLoadMaxConcurrentRuns: 3,
      dynamoWritePercent: 0.5,
      streamBatchSize: 1000,
      streamBatchingWindowSeconds: 30,
      cdcRetentionDays: 30,
      githubDeployStages: ['dev', 'prod'],
      logRetentionDays: 30,
    });
  });

  it('reads numbers given as --context strings', () => {
    expect(parseConfig({ glueWorkerCount: '10', dynamoWritePercent: '1.0' })).toMatchObject({ glueWorkerCount: 10, dynamoWritePercent: 1 });
  });

  it('treats a missing configuration as empty', () => {
    expect(parseConfig(undefined)).toEqual(parseConfig({}));
  });

  it('keeps every valid value it is given', () => {
    const config = {
      stage: 'prod',
      prefix: 'shop-lake',
      removalPolicy: 'retain',
      alertEmail: 'data-team@example.com',
      refreshSchedule: 'cron(15 0/2 * * ? *)',
      refreshTimeZone: 'Europe/Paris',
      freshnessObjectiveMinutes: 10,
      catalogCrawlSchedule: 'cron(0 6 ? * MON-FRI *)',
      encryption: 'kms',
      glueWorkerType: 'G.2X',
      glueWorkerCount: 10,
      glueJobTimeoutMinutes: 120,
      csvLoadMaxConcurrentRuns: 5,
      dynamoWritePercent: 1,
      streamBatchSize: 500,
      streamBatchingWindowSeconds: 0,
      cdcRetentionDays: 90,
      githubRepository: 'acme/shop-lake',
      githubDeployStages: ['staging', 'prod'],
      githubOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
      logRetentionDays: 365,
    };
    expect(parseConfig(config)).toEqual(config);
  });

  it('allows destroy outside prod', () => {
    expect(parseConfig({ stage: 'sandbox', removalPolicy: 'destroy' }).removalPolicy).toBe('destroy');
  });

  it.each([
    [{ stage: 'Prod' }, 'dynalake.stage: "Prod" is not a stage name (expected 1-15 lowercase letters, digits or hyphens, starting with a letter)'],
    [{ prefix: '9lake' }, 'dynalake.prefix: "9lake" is not a name prefix (expected 1-20 lowercase letters, digits or hyphens, starting with a letter)'],
    [{ removalPolicy: 'snapshot' }, 'dynalake.removalPolicy: "snapshot" is not a removal policy (expected "retain" or "destroy")'],
    [{ alertEmail: 'bob@' }, 'dynalake.alertEmail: "bob@" is not an e-mail address'],
    [
      { refreshSchedule: '0 * * * *' },
      'dynalake.refreshSchedule: "0 * * * *" is not an AWS cron expression (expected cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 * * * ? *))',
    ],
    [{ refreshTimeZone: 'Mars/Olympus_Mons' }, 'dynalake.refreshTimeZone: "Mars/Olympus_Mons" is not an IANA time zone (expected a name such as UTC or Europe/Paris)'],
    [{ refreshTimeZone: '' }, 'dynalake.refreshTimeZone: "" is not an IANA time zone (expected a name such as UTC or Europe/Paris)'],
    [
      { catalogCrawlSchedule: 'cron(0 8 * * * *)' },
      'dynalake.catalogCrawlSchedule: "cron(0 8 * * * *)" is not an AWS cron expression (expected cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 * * * ? *))',
    ],
    [{ freshnessObjectiveMinutes: 0 }, 'dynalake.freshnessObjectiveMinutes: 0 is not a freshness objective (expected a whole number of minutes from 1 to 1440)'],
    [{ freshnessObjectiveMinutes: 1441 }, 'dynalake.freshnessObjectiveMinutes: 1441 is not a freshness objective (expected a whole number of minutes from 1 to 1440)'],
    [{ freshnessObjectiveMinutes: 7.5 }, 'dynalake.freshnessObjectiveMinutes: 7.5 is not a freshness objective (expected a whole number of minutes from 1 to 1440)'],
    [{ encryption: 'sse-c' }, 'dynalake.encryption: "sse-c" is not an encryption mode (expected "default" or "kms")'],
    [{ glueWorkerType: 'G.3X' }, 'dynalake.glueWorkerType: "G.3X" is not a Glue worker type (expected "G.1X", "G.2X", "G.4X" or "G.8X")'],
    [{ glueWorkerCount: '1' }, 'dynalake.glueWorkerCount: "1" is not a worker count (expected a whole number from 2 to 299)'],
    [{ glueJobTimeoutMinutes: 'soon' }, 'dynalake.glueJobTimeoutMinutes: "soon" is not a timeout (expected a whole number of minutes from 1 to 2880)'],
    [{ csvLoadMaxConcurrentRuns: 2.5 }, 'dynalake.csvLoadMaxConcurrentRuns: 2.5 is not a run count (expected a whole number from 1 to 100)'],
    [{ dynamoWritePercent: 3 }, 'dynalake.dynamoWritePercent: 3 is not a write percent (expected a number from 0.1 to 1.5)'],
    [{ streamBatchSize: 20000 }, 'dynalake.streamBatchSize: 20000 is not a batch size (expected a whole number from 1 to 10000)'],
    [{ cdcRetentionDays: 0 }, 'dynalake.cdcRetentionDays: 0 is not a retention (expected a whole number of days from 1 to 3650)'],
    [{ githubRepository: 'acme' }, 'dynalake.githubRepository: "acme" is not a GitHub repository (expected owner/name)'],
    [{ githubRepository: 'acme/*' }, 'dynalake.githubRepository: "acme/*" is not a GitHub repository (expected owner/name)'],
    [{ githubDeployStages: [] }, 'dynalake.githubDeployStages: [] is not a list of stage names (expected stage names such as ["dev","prod"] or "dev,prod")'],
    [{ githubDeployStages: 'dev,Prod' }, 'dynalake.githubDeployStages: "dev,Prod" is not a list of stage names (expected stage names such as ["dev","prod"] or "dev,prod")'],
    [
      { githubOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/accounts.google.com' },
      'dynalake.githubOidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/accounts.google.com" is not the ARN of a GitHub OIDC provider (expected arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)',
    ],
    [{ logRetentionDays: 10 }, 'dynalake.logRetentionDays: 10 is not a CloudWatch retention (expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)'],
    [{ stage: 7 }, 'dynalake.stage: 7 is not a stage name (expected 1-15 lowercase letters, digits or hyphens, starting with a letter)'],
    [
      { stages: 'dev' },
      'dynalake.stages: is not a configuration key (expected one of stage, prefix, removalPolicy, alertEmail, refreshSchedule, refreshTimeZone, freshnessObjectiveMinutes, catalogCrawlSchedule, encryption, glueWorkerType, glueWorkerCount, glueJobTimeoutMinutes, csvLoadMaxConcurrentRuns, dynamoWritePercent, streamBatchSize, streamBatchingWindowSeconds, cdcRetentionDays, githubRepository, githubDeployStages, githubOidcProviderArn, logRetentionDays)',
    ],
    [{ stage: 'prod', removalPolicy: 'destroy' }, 'dynalake.removalPolicy: "destroy" is not allowed when stage is "prod" (expected "retain")'],
    [['dev'], 'dynalake: ["dev"] is not a configuration object (expected a JSON object)'],
  ])('rejects %j with one line naming the key, the value and the expected form', (raw, line) => {
    expect(problemsOf(raw)).toEqual([line]);
  });

  it('reports every problem at once, one line each', () => {
    const problems = problemsOf({ alertEmail: 'bob@', encryption: 'sse-c', colour: 'blue' });
    expect(problems).toHaveLength(3);
    expect(problems.map((line) => line.split(':')[0])).toEqual(
      expect.arrayContaining(['dynalake.alertEmail', 'dynalake.encryption', 'dynalake.colour']),
    );
  });

  it('throws a ConfigError that says what it is', () => {
    let thrown: unknown;
    try {
      parseConfig({ stage: 'Prod' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect({ name: (thrown as ConfigError).name, code: (thrown as ConfigError).code }).toEqual({ name: 'ConfigError', code: 'CONFIG_INVALID' });
  });

  it('puts every problem on its own line of the error message', () => {
    expect(() => parseConfig({ alertEmail: 'bob@', encryption: 'sse-c' })).toThrow(
      'Invalid dynalake configuration:\n  dynalake.alertEmail: "bob@" is not an e-mail address\n  dynalake.encryption: "sse-c" is not an encryption mode (expected "default" or "kms")',
    );
  });
});

describe('configFromContext', () => {
  it('reads the dynalake object from context', () => {
    expect(configFromContext(context({ dynalake: { stage: 'qa', encryption: 'kms' } }))).toMatchObject({ stage: 'qa', encryption: 'kms' });
  });

  it('lets --context dynalake.<key>=<value> override the cdk.json object', () => {
    const config = configFromContext(context({ dynalake: { stage: 'qa', prefix: 'shop' }, 'dynalake.stage': 'prod' }));
    expect(config).toMatchObject({ stage: 'prod', prefix: 'shop' });
  });

  it('accepts the whole object as a JSON string, as --context dynalake=... passes it', () => {
    expect(configFromContext(context({ dynalake: '{"stage":"qa"}' })).stage).toBe('qa');
  });

  it('rejects a dynalake context string that is not JSON', () => {
    expect(() => configFromContext(context({ dynalake: 'stage=qa' }))).toThrow(
      'dynalake: "stage=qa" is not a configuration object (expected a JSON object)',
    );
  });

  it.each([
    [5, 'dynalake: 5 is not a configuration object (expected a JSON object)'],
    ['[{"stage":"qa"}]', 'dynalake: [{"stage":"qa"}] is not a configuration object (expected a JSON object)'],
    [['qa'], 'dynalake: ["qa"] is not a configuration object (expected a JSON object)'],
  ])('rejects a dynalake context of %j, which is no object, even with overrides beside it', (value, message) => {
    expect(() => configFromContext(context({ dynalake: value, 'dynalake.stage': 'qa' }))).toThrow(message);
  });

  it('takes a null dynalake context as none: the defaults, with the overrides on top', () => {
    expect(configFromContext(context({ dynalake: 'null', 'dynalake.stage': 'qa' }))).toEqual(parseConfig({ stage: 'qa' }));
    expect(configFromContext(context({ dynalake: null, 'dynalake.stage': 'qa' }))).toEqual(parseConfig({ stage: 'qa' }));
  });

  it('names an unknown --context dynalake.<key> override', () => {
    expect(() => configFromContext(context({ 'dynalake.alertEmial': 'a@b.co' }))).toThrow('dynalake.alertEmial: is not a configuration key');
  });

  it('validates overrides like cdk.json values', () => {
    expect(() => configFromContext(context({ dynalake: {}, 'dynalake.alertEmail': 'bob@' }))).toThrow(
      'dynalake.alertEmail: "bob@" is not an e-mail address',
    );
  });
});

describe('configReference', () => {
  it('lists every key with its default and a description', () => {
    const rows = configReference();
    expect(rows.map((row) => row.key)).toEqual([
      'stage',
      'prefix',
      'removalPolicy',
      'alertEmail',
      'refreshSchedule',
      'refreshTimeZone',
      'freshnessObjectiveMinutes',
      'catalogCrawlSchedule',
      'encryption',
      'glueWorkerType',
      'glueWorkerCount',
      'glueJobTimeoutMinutes',
      'csvLoadMaxConcurrentRuns',
      'dynamoWritePercent',
      'streamBatchSize',
      'streamBatchingWindowSeconds',
      'cdcRetentionDays',
      'githubRepository',
      'githubDeployStages',
      'githubOidcProviderArn',
      'logRetentionDays',
    ]);
    expect(rows.find((row) => row.key === 'refreshSchedule')?.default).toBe('"cron(0 * * * ? *)"');
    expect(rows.find((row) => row.key === 'alertEmail')?.default).toBe('(unset)');
    for (const row of rows) expect(row.description.length).toBeGreaterThan(10);
  });
});
