import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The repository root: the CLIs read its cdk.json. */
export const ROOT = join(__dirname, '..', '..');
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true' };

/** Node's arguments that make it run TypeScript as the npm scripts do: the swc require hook. */
export const TYPESCRIPT_HOOK: readonly string[] = ['-r', join(ROOT, 'scripts', 'lib', 'swc-register.js')];

/** What a CLI run printed, and how it ended. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `scripts/<script>` with `args` the way its npm script does (the swc hook), from the repository. */
export function runScript(script: string, args: readonly string[], timeoutMs = 60_000): Promise<CliRun> {
  return runTypeScript(join(ROOT, 'scripts', script), args, { timeoutMs });
}

/** Runs a TypeScript entry point with the swc hook, from `cwd` (the repository unless given). */
export function runTypeScript(file: string, args: readonly string[], { cwd = ROOT, timeoutMs = 60_000 }: { readonly cwd?: string; readonly timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TYPESCRIPT_HOOK, file, ...args], { cwd, env: ENV, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
