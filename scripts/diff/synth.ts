/**
 * Synthesizes the CDK app of a git ref (in a temporary worktree) or of the working tree, offline
 * and without AWS credentials, and reads every stack's template from the cloud assembly.
 *
 * A ref's worktree gets its node_modules without installing whenever it can: the working tree's,
 * when both package-lock.json files are byte for byte the same; else a cached install keyed by the
 * sha256 of the ref's package-lock.json; else `npm ci`, whose result goes into that cache.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DynalakeError } from '../../lambda/shared/errors';

/** A CloudFormation template as synthesized. */
export type Template = Record<string, unknown>;

/** The stacks of one side of the diff. */
export interface SynthesizedApp {
  /** How the report names this side: `main@3a4f9a2`, `working tree`. */
  readonly label: string;
  /** Stack name → template. Empty when the ref has no CDK app (no cdk.json). */
  readonly stacks: ReadonlyMap<string, Template>;
}

/** Where the repository is and how to report progress. */
export interface SynthOptions {
  /** The directory the diff runs in: the working tree's CDK app (where cdk.json is). */
  readonly appDir: string;
  /** Where installed node_modules are kept, per package-lock.json hash. */
  readonly cacheDir: string;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
}

/** The default cache of base installs, inside the working tree's own node_modules. */
export const DEFAULT_CACHE_DIR = join('node_modules', '.cache', 'dynalake-diff');

/** How many cached installs to keep (each is a full node_modules). */
const CACHE_ENTRIES_KEPT = 3;

/** Lines of a failed command's output worth showing. */
const ERROR_TAIL_LINES = 40;

// ---------------------------------------------------------------------------------------------
// Cleanup that also runs on Ctrl-C: the CLI calls cleanUpNow() from its signal handler.

const pendingCleanups = new Set<() => void>();
const runningChildren = new Set<ChildProcess>();

/** Stops the commands still running and removes every worktree and temporary folder, synchronously. */
export function cleanUpNow(): void {
  for (const child of runningChildren) {
    // Each command runs in its own process group: cdk synth's app and npm's scripts go with it.
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
  }
  for (const cleanup of [...pendingCleanups].reverse()) {
    try {
      cleanup();
    } catch {
      // Best effort: the next cleanup must still run.
    }
  }
  pendingCleanups.clear();
}

function registerCleanup(cleanup: () => void): () => void {
  pendingCleanups.add(cleanup);
  return () => {
    if (!pendingCleanups.delete(cleanup)) return;
    cleanup();
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes

/**
 * The environment of every child: no AWS credentials or profile (and no credential files, no
 * instance metadata), no CDK or ts-node settings of the caller, no version check or telemetry.
 */
export function offlineEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([name]) => !/^(AWS_|CDK_|TS_NODE_)/.test(name)));
  return {
    ...clean,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

interface CommandResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion, its stdout and stderr collected together. */
function runCommand(command: string, args: readonly string[], cwd: string): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: offlineEnvironment(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    runningChildren.add(child);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', (error) => {
      runningChildren.delete(child);
      reject(new DynalakeError('LOAD_FAILED', `${command}: ${error.message}`));
    });
    child.once('close', (code) => {
      runningChildren.delete(child);
      resolvePromise({ code, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function tail(output: string): string {
  const lines = output.trimEnd().split('\n');
  const shown = lines.slice(-ERROR_TAIL_LINES).map((line) => `  ${line}`);
  return (lines.length > ERROR_TAIL_LINES ? ['  …', ...shown] : shown).join('\n');
}

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// ---------------------------------------------------------------------------------------------
// Git

/** The repository around a directory: its top level, and the directory's path inside it. */
export interface Repository {
  readonly root: string;
  /** `''` when the app is at the top level, else e.g. `infra/`. */
  readonly prefix: string;
}

export function findRepository(appDir: string): Repository {
  try {
    return { root: git(appDir, ['rev-parse', '--show-toplevel']), prefix: git(appDir, ['rev-parse', '--show-prefix']) };
  } catch {
    throw new DynalakeError('BAD_INVOCATION', `${appDir} is not inside a git repository: the diff synthesizes git refs`);
  }
}

/** A ref resolved to its commit. */
export interface ResolvedRef {
  readonly ref: string;
  readonly commit: string;
  readonly label: string;
}

/** Resolves a ref to a commit, or fails as a bad invocation naming the option. */
export function resolveRef(repository: Repository, option: string, ref: string): ResolvedRef {
  let commit: string;
  try {
    commit = git(repository.root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new DynalakeError('BAD_INVOCATION', `--${option}: ${JSON.stringify(ref)} is not a commit of ${repository.root} (fetch it first, e.g. git fetch origin, with history: fetch-depth 0)`);
  }
  const short = commit.slice(0, 7);
  return { ref, commit, label: commit.startsWith(ref) ? short : `${ref}@${short}` };
}

// ---------------------------------------------------------------------------------------------
// node_modules for a worktree

/** sha256 of a package-lock.json, the key of the install cache. */
export function lockfileHash(lockfile: string): string {
  return createHash('sha256').update(readFileSync(lockfile)).digest('hex');
}

function sameFileContent(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));
}

/** Keeps the most recently used cache entries, removes the others. */
function pruneCache(cacheDir: string, keep: string): void {
  const entries = readdirSync(cacheDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^[0-9a-f]{64}$/.test(entry.name))
    .map((entry) => ({ name: entry.name, used: statSync(join(cacheDir, entry.name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const entry of entries.slice(CACHE_ENTRIES_KEPT)) {
    if (entry.name !== keep) rmSync(join(cacheDir, entry.name), { recursive: true, force: true });
  }
}

/** Moves a folder, copying when source and target are on different file systems. */
function moveFolder(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    rmSync(from, { recursive: true, force: true });
  }
}

/**
 * Gives `dir` (a worktree's app folder) a node_modules symlink: to the working tree's when the
 * lock files are identical, else to the cached install of its lock file, installed now with
 * `npm ci` when there is none. Returns how, for the progress line.
 */
export async function provideNodeModules(dir: string, options: SynthOptions): Promise<string> {
  const lockfile = join(dir, 'package-lock.json');
  if (!existsSync(lockfile)) throw new DynalakeError('LOAD_FAILED', `${relative(options.appDir, dir) || dir} has no package-lock.json: npm ci cannot install its dependencies`);
  const target = join(dir, 'node_modules');

  const localModules = join(options.appDir, 'node_modules');
  if (existsSync(localModules) && sameFileContent(lockfile, join(options.appDir, 'package-lock.json'))) {
    symlinkSync(realpathSync(localModules), target, 'dir');
    return "the working tree's node_modules (same package-lock.json)";
  }

  const hash = lockfileHash(lockfile);
  const cacheDir = resolve(options.appDir, options.cacheDir);
  const entry = join(cacheDir, hash);
  const cached = join(entry, 'node_modules');
  if (existsSync(cached)) {
    const now = new Date();
    utimesSync(entry, now, now);
    symlinkSync(realpathSync(cached), target, 'dir');
    return `cached node_modules ${hash.slice(0, 12)} (${relative(options.appDir, cacheDir) || cacheDir})`;
  }

  options.log(`diff: npm ci for package-lock.json ${hash.slice(0, 12)} (cached afterwards in ${relative(options.appDir, cacheDir) || cacheDir})…`);
  const started = Date.now();
  const npm = await runCommand('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], dir);
  if (npm.code !== 0) {
    throw new DynalakeError('LOAD_FAILED', `npm ci failed (exit ${String(npm.code)}) for package-lock.json ${hash.slice(0, 12)} in ${dir}:\n${tail(npm.output)}`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const partial = mkdtempSync(join(cacheDir, `${hash}.partial-`));
  try {
    moveFolder(target, join(partial, 'node_modules'));
    renameSync(partial, entry);
  } catch (error) {
    // Another diff cached the same lock file meanwhile: use that one.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(cached)) throw error;
  }
  rmSync(target, { recursive: true, force: true });
  symlinkSync(realpathSync(cached), target, 'dir');
  pruneCache(cacheDir, hash);
  return `npm ci in ${((Date.now() - started) / 1000).toFixed(0)} s, now cached as ${hash.slice(0, 12)}`;
}

// ---------------------------------------------------------------------------------------------
// Cloud assembly

interface ManifestArtifact {
  readonly type?: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string; readonly directoryName?: string };
}

/**
 * Every stack template of a cloud assembly, from its manifest.json (artifacts of type
 * aws:cloudformation:stack), nested assemblies (stages) included.
 */
export function readAssembly(outDir: string): Map<string, Template> {
  const stacks = new Map<string, Template>();
  const manifestPath = join(outDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new DynalakeError('LOAD_FAILED', `${outDir} has no manifest.json: the synth wrote no cloud assembly`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { artifacts?: Record<string, ManifestArtifact> };
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile !== undefined) {
      const name = artifact.properties.stackName ?? artifact.displayName ?? id;
      stacks.set(name, JSON.parse(readFileSync(join(outDir, artifact.properties.templateFile), 'utf8')) as Template);
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName !== undefined) {
      for (const [name, template] of readAssembly(join(outDir, artifact.properties.directoryName))) stacks.set(name, template);
    }
  }
  return stacks;
}

/** Runs `cdk synth` of the app in `dir` into a temporary folder and reads its stacks. */
async function synthesizeApp(dir: string): Promise<Map<string, Template>> {
  const cdk = join(dir, 'node_modules', '.bin', 'cdk');
  if (!existsSync(cdk)) throw new DynalakeError('LOAD_FAILED', `${dir} has no node_modules/.bin/cdk: aws-cdk (the CLI) must be a dependency`);
  const outDir = mkdtempSync(join(tmpdir(), 'dynalake-diff-out-'));
  const done = registerCleanup(() => rmSync(outDir, { recursive: true, force: true }));
  try {
    const synth = await runCommand(cdk, ['synth', '--quiet', '--no-notices', '--no-version-reporting', '-o', outDir], dir);
    if (synth.code !== 0) throw new DynalakeError('LOAD_FAILED', `cdk synth failed (exit ${String(synth.code)}) in ${dir}:\n${tail(synth.output)}`);
    return readAssembly(outDir);
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------------------------
// The two sides

/** Synthesizes the working tree as it is, uncommitted changes included. */
export async function synthesizeWorkingTree(options: SynthOptions): Promise<SynthesizedApp> {
  const started = Date.now();
  const stacks = existsSync(join(options.appDir, 'cdk.json')) ? await synthesizeApp(options.appDir) : new Map<string, Template>();
  options.log(`diff: synthesized the working tree in ${((Date.now() - started) / 1000).toFixed(1)} s (${String(stacks.size)} stacks)`);
  return { label: 'working tree', stacks };
}

/** A detached worktree of a commit, removed by the returned function (also on Ctrl-C). */
function addWorktree(repository: Repository, commit: string): { dir: string; remove: () => void } {
  const parent = mkdtempSync(join(tmpdir(), 'dynalake-diff-'));
  const worktree = join(parent, 'tree');
  const remove = registerCleanup(() => {
    // The node_modules symlink goes first, so nothing can ever follow it into the shared install.
    const link = join(worktree, repository.prefix, 'node_modules');
    if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
    try {
      git(repository.root, ['worktree', 'remove', '--force', worktree]);
    } catch {
      // Not registered (the add failed) or already gone: the folder removal below is enough.
    }
    rmSync(parent, { recursive: true, force: true });
    try {
      git(repository.root, ['worktree', 'prune']);
    } catch {
      // Pruning is housekeeping only.
    }
  });
  try {
    git(repository.root, ['worktree', 'add', '--detach', worktree, commit]);
  } catch (error) {
    remove();
    throw new DynalakeError('LOAD_FAILED', `git worktree add ${commit.slice(0, 7)} failed: ${(error as { stderr?: string }).stderr?.trim() ?? String(error)}`);
  }
  return { dir: join(worktree, repository.prefix), remove };
}

/**
 * A ref prepared for synthesis: its worktree with node_modules. Prepare sides one after the other
 * (two `npm ci` into one cache entry would race), then synthesize them at once.
 */
export interface PreparedRef {
  readonly ref: ResolvedRef;
  readonly dir: string;
  /** Synthesizes the worktree's app and removes the worktree. */
  readonly synthesize: () => Promise<SynthesizedApp>;
  /** Removes the worktree without synthesizing. */
  readonly discard: () => void;
}

export async function prepareRef(repository: Repository, ref: ResolvedRef, options: SynthOptions): Promise<PreparedRef> {
  const worktree = addWorktree(repository, ref.commit);
  try {
    const hasApp = existsSync(join(worktree.dir, 'cdk.json'));
    if (hasApp) {
      const how = await provideNodeModules(worktree.dir, options);
      options.log(`diff: ${ref.label}: worktree with ${how}`);
    } else {
      options.log(`diff: ${ref.label} has no cdk.json: no stacks on that side`);
    }
    return {
      ref,
      dir: worktree.dir,
      discard: worktree.remove,
      synthesize: async () => {
        try {
          const started = Date.now();
          const stacks = hasApp ? await synthesizeApp(worktree.dir) : new Map<string, Template>();
          options.log(`diff: synthesized ${ref.label} in ${((Date.now() - started) / 1000).toFixed(1)} s (${String(stacks.size)} stacks)`);
          return { label: ref.label, stacks };
        } finally {
          worktree.remove();
        }
      },
    };
  } catch (error) {
    worktree.remove();
    throw error;
  }
}

/** Prepares and synthesizes one ref. */
export async function synthesizeRef(repository: Repository, ref: ResolvedRef, options: SynthOptions): Promise<SynthesizedApp> {
  return (await prepareRef(repository, ref, options)).synthesize();
}
