import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, CloudFormationValidatePlugin, type IPolicyValidationContext, type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';

/**
 * aws-cdk-lib's CloudFormation validation (the `@aws-cdk/core:validateAgainstDefaultRules` flag
 * of cdk.json) with a cache of the templates it passed. The engine costs about 1.6 s to start and
 * 0.8 s to validate this app's two templates, on every synth, though most synths (a test, a diff
 * of one side, an edit elsewhere) give templates already validated. Validation is a function of
 * the template, the stack's account and region, and the engine's version, so a template that
 * passed with no finding passes again: only templates never seen reach the engine. A template
 * with any finding (a warning included) is never cached, so its findings are printed every time.
 */
export class CachedCloudFormationValidation extends CloudFormationValidatePlugin {
  /** How many templates the last `validate` took from the cache, and how many the engine checked. */
  public lastRun = { cached: 0, validated: 0 };

  /**
   * @param cacheDir where passed templates are remembered (one empty file per template key).
   *   @default validationCacheDir()
   */
  public constructor(private readonly cacheDir: string = validationCacheDir()) {
    super();
  }

  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const keyed = context.stackTemplates.map((stack) => ({ stack, key: this.templateKey(stack.templatePath, stack.accountId, stack.region) }));
    const unseen = keyed.filter(({ key }) => !existsSync(join(this.cacheDir, key)));
    this.lastRun = { cached: keyed.length - unseen.length, validated: unseen.length };
    if (unseen.length === 0) return { success: true, violations: [] };
    const stackTemplates = unseen.map(({ stack }) => stack);
    const report = super.validate({ ...context, stackTemplates, templatePaths: stackTemplates.map((stack) => stack.templatePath) });
    const flagged = new Set(report.violations.flatMap((violation) => violation.violatingResources.map((resource) => resource.templatePath)));
    for (const { stack, key } of unseen) if (!flagged.has(stack.templatePath)) this.remember(key);
    return report;
  }

  /** The template's content with everything its result depends on, hashed. */
  private templateKey(templatePath: string, accountId: string | undefined, region: string | undefined): string {
    const engine = this.version ?? 'unknown';
    return createHash('sha256')
      .update(JSON.stringify([engine, accountId ?? null, region ?? null]))
      .update(readFileSync(templatePath))
      .digest('hex');
  }

  private remember(key: string): void {
    // Written under a unique name, then renamed: synths running at once never see half a file.
    mkdirSync(this.cacheDir, { recursive: true });
    const staging = join(this.cacheDir, `.${key}.${process.pid}`);
    writeFileSync(staging, '');
    renameSync(staging, join(this.cacheDir, key));
  }
}

/**
 * Where passed templates are remembered: $DYNALAKE_VALIDATION_CACHE when set (bench:synth points
 * it at an empty folder to time a synth of changed templates), else
 * `node_modules/.cache/dynalake-validation` of the app being synthesized (ignored by git, gone
 * with node_modules), or the system's temporary folder.
 */
export function validationCacheDir(cwd = process.cwd()): string {
  const chosen = process.env.DYNALAKE_VALIDATION_CACHE;
  if (chosen !== undefined && chosen !== '') return chosen;
  const nodeModules = join(cwd, 'node_modules');
  return existsSync(nodeModules) ? join(nodeModules, '.cache', 'dynalake-validation') : join(tmpdir(), 'dynalake-validation');
}

/** One plugin per cache folder and process: its engine, once started, serves every later app (as the built-in singleton does). */
const plugins = new Map<string, CachedCloudFormationValidation>();

/**
 * Has `app` validate its templates through the cache in `cacheDir` (default: validationCacheDir()),
 * in place of the built-in plugin the flag adds. Returns the plugin, shared by the apps of this
 * process that use the same folder.
 */
export function useCachedValidation(app: App, cacheDir = validationCacheDir()): CachedCloudFormationValidation {
  const plugin = plugins.get(cacheDir) ?? new CachedCloudFormationValidation(cacheDir);
  plugins.set(cacheDir, plugin);
  Validations.of(app).addPlugins(plugin);
  return plugin;
}
