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
