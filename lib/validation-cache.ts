import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { type App, CloudFormationValidatePlugin, type IPolicyValidationContext, type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';

/** The cache's record of the resource types its last validation saw: what an engine started early is started for. */
export const VALIDATION_RESOURCE_TYPES_FILE = 'resource-types.json';

/**
 * aws-cdk-lib's CloudFormation validation (the `@aws-cdk/core:validateAgainstDefaultRules` flag
 * of cdk.json) with a cache of the templates it passed. The engine costs about 1.6 s to start and
 * 0.8 s to validate this app's two templates, on every synth, though most synths (a test, a diff
 * of one side, an edit elsewhere) give templates already validated. Validation is a function of
 * the template, the stack's account and region, and the engine's version, so a template that
 * passed with no finding passes again: only templates never seen reach the engine. A template
 * with any finding (a warning included) is never cached, so its findings are printed every time.
 * When templates are new, startEngineEarly() lets the engine's start overlap the app's synthesis.
 */
export class CachedCloudFormationValidation extends CloudFormationValidatePlugin {
  /** How many templates the last `validate` took from the cache, and how many the engine checked. */
  public lastRun = { cached: 0, validated: 0 };

  /**
   * @param cacheDir where passed templates are remembered (one empty file per template key), with
   *   the resource types of the last templates validated.
   *   @default validationCacheDir()
   */
  public constructor(private readonly cacheDir: string = validationCacheDir()) {
    super();
  }

  /** The engine started early on a thread of its own, if startEngineEarly() was called. */
  private engineThread?: EngineThread;

  /**
   * Starts the engine now, on a worker thread, for the resource types the cache's last validation
   * saw, so that its start (about 1 s of WebAssembly) runs on another core while the app is built
   * and synthesized; the templates never seen are then validated there, by the same aws-cdk-lib
   * plugin. Templates all in the cache leave the thread's work unused. Calling it again does nothing.
   */
  public startEngineEarly(): void {
    this.engineThread ??= new EngineThread(this.rememberedResourceTypes());
  }

  /**
   * Ends the thread of startEngineEarly(), for a process that goes on after its synths: templates
   * are then validated on the app's thread.
   */
  public async stopEngineThread(): Promise<void> {
    await this.engineThread?.stop();
  }

  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const keyed = context.stackTemplates.map((stack) => ({ stack, key: this.templateKey(stack.templatePath, stack.accountId, stack.region) }));
    const unseen = keyed.filter(({ key }) => !existsSync(join(this.cacheDir, key)));
    this.lastRun = { cached: keyed.length - unseen.length, validated: unseen.length };
    if (unseen.length === 0) {
      // A cache filled before the record was kept gets it from templates it already holds.
      if (!existsSync(join(this.cacheDir, VALIDATION_RESOURCE_TYPES_FILE))) this.rememberResourceTypes(context.stackTemplates.map((stack) => stack.templatePath));
      return { success: true, violations: [] };
    }
    const stackTemplates = unseen.map(({ stack }) => stack);
    const unseenContext = { ...context, stackTemplates, templatePaths: stackTemplates.map((stack) => stack.templatePath) };
    const report = this.engineThread?.validate(unseenContext) ?? super.validate(unseenContext);
    const flagged = new Set(report.violations.flatMap((violation) => violation.violatingResources.map((resource) => resource.templatePath)));
    for (const { stack, key } of unseen) if (!flagged.has(stack.templatePath)) this.remember(key);
    this.rememberResourceTypes(context.stackTemplates.map((stack) => stack.templatePath));
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

  private remember(key: string, content = ''): void {
    // Written under a unique name, then renamed: synths running at once never see half a file.
    mkdirSync(this.cacheDir, { recursive: true });
    const staging = join(this.cacheDir, `.${key}.${String(process.pid)}`);
    writeFileSync(staging, content);
    renameSync(staging, join(this.cacheDir, key));
  }

  /** Records the resource types of the app's templates, for the next startEngineEarly(). */
  private rememberResourceTypes(templatePaths: readonly string[]): void {
    const types = new Set<string>();
    for (const templatePath of templatePaths) {
      const { Resources = {} } = JSON.parse(readFileSync(templatePath, 'utf8')) as { Resources?: Record<string, { Type?: unknown }> };
      for (const { Type } of Object.values(Resources)) if (typeof Type === 'string') types.add(Type);
    }
    this.remember(VALIDATION_RESOURCE_TYPES_FILE, JSON.stringify([...types].sort()));
  }

  /** The resource types recorded by the last validation through this cache; none if unreadable. */
  private rememberedResourceTypes(): string[] {
    try {
      const types: unknown = JSON.parse(readFileSync(join(this.cacheDir, VALIDATION_RESOURCE_TYPES_FILE), 'utf8'));
      return Array.isArray(types) ? types.filter((type): type is string => typeof type === 'string') : [];
    } catch {
      return [];
    }
  }
}

/**
 * The worker thread's code. It validates with aws-cdk-lib's own plugin, from the same aws-cdk-lib
 * as the app. The plugin starts its engine for the resource types of the templates it is given and
 * keeps it for later templates whose types are among them, so validating a template of one
 * resource of each remembered type starts the engine the app's templates will reuse (that start
 * only saves time: its failure is left to the real validation to meet).
 */
const ENGINE_THREAD_SOURCE = `
'use strict';
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { replies, state, cdkLib, resourceTypes, ANSWERED, STOPPED } = workerData;
const describe = (error) => String((error && error.stack) || error);
// On Linux a priority is a thread's own: the app's thread keeps its core when both want one.
if (process.platform === 'linux') require('node:os').setPriority(19);
process.on('exit', () => {
  Atomics.store(state, 0, STOPPED);
  Atomics.notify(state, 0);
});
let plugin;
let setupError;
try {
  plugin = new (require(cdkLib).CloudFormationValidatePlugin)();
} catch (error) {
  setupError = describe(error);
}
if (plugin !== undefined && resourceTypes.length > 0) {
  const dir = mkdtempSync(join(tmpdir(), 'dynalake-validation-start-'));
  try {
    const templatePath = join(dir, 'start.template.json');
    const Resources = Object.fromEntries(resourceTypes.map((Type, index) => ['Resource' + index, { Type }]));
    writeFileSync(templatePath, JSON.stringify({ Resources }));
    plugin.validate({ templatePaths: [templatePath], stackTemplates: [{ stackConstructPath: 'Start', templatePath }] });
  } catch {
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
parentPort.on('message', (context) => {
  let reply;
  try {
    if (setupError !== undefined) throw setupError;
    reply = { report: plugin.validate(context) };
  } catch (error) {
    reply = { error: describe(error) };
  }
  replies.postMessage(reply);
  Atomics.store(state, 0, ANSWERED);
  Atomics.notify(state, 0);
});
`;

/** The longest the app waits for its validation thread to answer. */
const ENGINE_THREAD_TIMEOUT_MS = 10 * 60 * 1000;
/** The states of the flag the app's thread waits on: a question asked, answered (or none yet), or the thread gone. */
const WAITING = 0;
const ANSWERED = 1;
const STOPPED = 2;

/**
 * aws-cdk-lib's validation on a worker thread, started at once. A plugin's validate() is
 * synchronous, so the app's thread asks and then blocks until the worker answers: the answer is
 * posted to a port read with receiveMessageOnPort once a shared flag says it is there.
 */
class EngineThread {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private readonly state = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

  public constructor(resourceTypes: readonly string[]) {
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    this.worker = new Worker(ENGINE_THREAD_SOURCE, {
      eval: true,
      // Not the app's --require hooks: the thread runs plain JavaScript.
      execArgv: [],
      workerData: { replies: port2, state: this.state, cdkLib: require.resolve('aws-cdk-lib'), resourceTypes, ANSWERED, STOPPED },
      transferList: [port2],
    });
    Atomics.store(this.state, 0, ANSWERED);
    // A synth whose templates were all in the cache ends without waiting for the thread.
    this.worker.unref();
    // A thread that fails stops (its exit says so to the flag); the templates are then validated on the app's thread.
    this.worker.on('error', () => undefined);
  }

  /** The plugin's report, from the thread; undefined if the thread has stopped (validate on the app's thread). */
  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport | undefined {
    if (Atomics.compareExchange(this.state, 0, ANSWERED, WAITING) === STOPPED) return undefined;
    this.worker.postMessage({ templatePaths: [...context.templatePaths], stackTemplates: context.stackTemplates.map((stack) => ({ ...stack })) });
    if (Atomics.wait(this.state, 0, WAITING, ENGINE_THREAD_TIMEOUT_MS) === 'timed-out') {
      throw new Error(`CloudFormation validation: its thread gave no answer in ${String(ENGINE_THREAD_TIMEOUT_MS / 60_000)} minutes`);
    }
    const reply = receiveMessageOnPort(this.replies)?.message as { report: PolicyValidationPluginReport } | { error: string } | undefined;
    if (reply === undefined) return undefined;
    if ('error' in reply) throw new Error(`CloudFormation validation failed on its thread: ${reply.error}`);
    return reply.report;
  }

  /** Ends the thread; later questions get undefined. */
  public async stop(): Promise<void> {
    Atomics.store(this.state, 0, STOPPED);
    await this.worker.terminate();
  }
}

/**
 * Where passed templates are remembered: $DYNALAKE_VALIDATION_CACHE when set (bench:synth points
 * it at a folder of its own to time a synth of changed templates), else
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

/** How an app validates through the cache. */
export interface CachedValidationOptions {
  /**
   * Where passed templates are remembered.
   * @default validationCacheDir()
   */
  readonly cacheDir?: string;
  /**
   * Start the engine at once on a worker thread (see CachedCloudFormationValidation.startEngineEarly):
   * for a process that synthesizes one app on a machine with a core to spare, as `cdk synth` does.
   * @default false
   */
  readonly startEngineEarly?: boolean;
}

/**
 * Has `app` validate its templates through the cache, in place of the built-in plugin the flag
 * adds. Returns the plugin, shared by the apps of this process that use the same folder.
 */
export function useCachedValidation(app: App, { cacheDir = validationCacheDir(), startEngineEarly = false }: CachedValidationOptions = {}): CachedCloudFormationValidation {
  const plugin = plugins.get(cacheDir) ?? new CachedCloudFormationValidation(cacheDir);
  plugins.set(cacheDir, plugin);
  if (startEngineEarly) plugin.startEngineEarly();
  Validations.of(app).addPlugins(plugin);
  return plugin;
}
