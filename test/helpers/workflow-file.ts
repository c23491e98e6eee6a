/** A GitHub Actions workflow of .github/workflows/, parsed, with the fields the workflow tests read. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

export interface Job {
  readonly needs?: string | readonly string[];
  readonly if?: string;
  readonly environment?: string;
  readonly concurrency?: { readonly group?: string; readonly 'cancel-in-progress'?: boolean };
  readonly permissions?: Record<string, string>;
  readonly 'timeout-minutes'?: number;
  readonly env?: Record<string, string>;
  readonly outputs?: Record<string, string>;
  readonly steps: readonly Step[];
}

export interface Workflow {
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { readonly group?: string; readonly 'cancel-in-progress'?: boolean };
  readonly jobs: Record<string, Job>;
}

/** The folder of the workflows. */
export const WORKFLOWS_DIR = join(__dirname, '..', '..', '.github', 'workflows');

/** A workflow file's text and its parsed form. */
export function readWorkflow(file: string): { readonly source: string; readonly workflow: Workflow } {
  const source = readFileSync(join(WORKFLOWS_DIR, file), 'utf8');
  return { source, workflow: parse(source) as Workflow };
}

/**
 * The Python and Java versions a job sets up before its `npm test` step (actions/setup-python and
 * actions/setup-java), undefined for one it leaves to the runner image; throws when the job runs no
 * `npm test`.
 */
export function toolchainBeforeTests(job: Job): { readonly python?: string; readonly java?: string } {
  const testStep = job.steps.findIndex((step) => step.run?.trim() === 'npm test');
  if (testStep < 0) throw new Error('the job runs no npm test');
  const before = job.steps.slice(0, testStep);
  const input = (action: string, name: string) => before.find((step) => step.uses?.startsWith(`${action}@`))?.with?.[name];
  const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
  return { python: text(input('actions/setup-python', 'python-version')), java: text(input('actions/setup-java', 'java-version')) };
}

/** The versions scripts/python/setup.sh accepts (the Glue 5.0 runtime's), read from the script itself. */
export function glueRuntimeVersions(): { readonly python: string; readonly java: string } {
  const script = readFileSync(join(__dirname, '..', '..', 'scripts', 'python', 'setup.sh'), 'utf8');
  const python = /\[\[ \$version == ([\d.]+) \]\]/.exec(script)?.[1];
  const java = /the local Spark needs Java (\d+)/.exec(script)?.[1];
  if (python === undefined || java === undefined) throw new Error('scripts/python/setup.sh no longer says which Python and Java it needs');
  return { python, java };
}
