import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import cdkJson from '../../cdk.json';
import { buildDynalakeApp, type DynalakeStacks } from '../../lib/app';
import type { PipelineConfigInput } from '../../lib/config';
import { useCachedValidation } from '../../lib/validation-cache';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * An App with the same context the CDK CLI gives bin/app.ts (cdk.json: feature flags, strict
 * CloudFormation validation, through the same cache of passed templates), with `config` over the
 * cdk.json `dynalake` object. Synthesizes into a fresh temporary folder, removed after the test file.
 */
export function testApp(config: PipelineConfigInput = {}): App {
  const { dynalake, ...flags } = cdkJson.context;
  const outdir = mkdtempSync(join(tmpdir(), 'dynalake-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...flags, dynalake: { ...dynalake, ...config } } });
  useCachedValidation(app);
  return app;
}

/** The dynalake stacks built by the real app builder (config, stacks, cdk-nag) on a test App. */
export function buildStacks(config: PipelineConfigInput = {}): DynalakeStacks & { app: App } {
  const app = testApp(config);
  return { app, ...buildDynalakeApp(app) };
}

/** A synthesized resource: its logical id, properties and policies. */
export interface SynthesizedResource {
  readonly logicalId: string;
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The synthesized CloudFormation resource behind an L2 construct (its default child) or an L1. */
export function resourceOf(construct: IConstruct): SynthesizedResource {
  const stack = Stack.of(construct);
  const element = construct.node.defaultChild ?? construct;
  if (!CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} is not backed by a CloudFormation resource`);
  const logicalId = stack.getLogicalId(element);
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Omit<SynthesizedResource, 'logicalId'>>;
  const resource = resources[stack.resolve(logicalId) as string];
  if (!resource) throw new Error(`${construct.node.path} has no resource in the template of ${stack.stackName}`);
  return { logicalId: stack.resolve(logicalId) as string, ...resource };
}

/** The cdk-nag rules acknowledged on a construct, by id (aws-cdk-lib prefixes ids it does not know with `Annotation::`). */
export function acknowledgedRules(construct: IConstruct): Record<string, string> {
  const entries = construct.node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules').flatMap((entry) => Object.entries(entry.data as Record<string, string>));
  return Object.fromEntries(entries.map(([id, reason]) => [id.replace(/^Annotation::/, ''), reason]));
}
