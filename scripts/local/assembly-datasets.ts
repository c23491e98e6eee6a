import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeySchemaElement } from '@aws-sdk/client-dynamodb';
import type { DatasetDescription } from '../../lib/dataset';
import { DynalakeError } from '../../lambda/shared/errors';
import { datasetArgument } from './glue/dataset-to-lake';
import type { TableDefinition } from './table-definitions';

/**
 * The datasets of a synthesized cloud assembly (`cdk.out` of dynalake's app or a consumer's), read
 * from what each LakeDataset put in the templates: the CDC-merge job's `--DATASET` argument, and
 * the DynamoDB table its `--SOURCE_TABLE_ARN` points at (in the same stack, or exported by another).
 * The local runtime runs exactly these, whoever declared them.
 */

/** A dataset as its assembly declares it. */
export interface AssemblyDataset {
  /** The stack that declares the dataset's job. */
  readonly stackName: string;
  /** The description, checked as the job checks its DATASET argument. */
  readonly dataset: DatasetDescription;
  /** The Glue job's name, when the template gives it as text. */
  readonly jobName: string;
  /** The table's key and attribute definitions, as CreateTable takes them (named `<stack>-<dataset>` locally). */
  readonly table: TableDefinition;
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

interface Template {
  readonly Resources?: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { readonly Value?: unknown; readonly Export?: { readonly Name?: unknown } }>;
}

interface Manifest {
  readonly artifacts?: Record<string, { readonly type: string; readonly properties?: { readonly templateFile?: string } }>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The stacks' templates of an assembly folder, by stack name. */
function templatesOf(assemblyDir: string): Map<string, Template> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(assemblyDir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (error) {
    throw new DynalakeError('BAD_INVOCATION', `${join(assemblyDir, 'manifest.json')}: not a synthesized cloud assembly (${(error as Error).message}); run cdk synth first`);
  }
  const templates = new Map<string, Template>();
  for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || artifact.properties?.templateFile === undefined) continue;
    templates.set(name, JSON.parse(readFileSync(join(assemblyDir, artifact.properties.templateFile), 'utf8')) as Template);
  }
  return templates;
}

/** The table resource a `Fn::GetAtt [id, Arn]`, or an import of one exported by another stack, points at. */
function tableOf(templates: Map<string, Template>, stackName: string, arn: unknown, where: string): TemplateResource {
  const getAtt = (template: Template | undefined, value: unknown): TemplateResource | undefined => {
    const target: unknown = isRecord(value) ? value['Fn::GetAtt'] : undefined;
    const [logicalId, attribute] = Array.isArray(target) ? (target as unknown[]) : [];
    if (attribute !== 'Arn') return undefined;
    const resource = typeof logicalId === 'string' ? template?.Resources?.[logicalId] : undefined;
    return resource?.Type === 'AWS::DynamoDB::Table' ? resource : undefined;
  };
  const local = getAtt(templates.get(stackName), arn);
  if (local) return local;
  const exportName = isRecord(arn) ? arn['Fn::ImportValue'] : undefined;
  for (const template of templates.values()) {
    for (const output of Object.values(template.Outputs ?? {})) {
      if (exportName !== undefined && JSON.stringify(output.Export?.Name) === JSON.stringify(exportName)) {
        const exported = getAtt(template, output.Value);
        if (exported) return exported;
      }
    }
  }
  throw new DynalakeError('BAD_INPUT', `${where}: --SOURCE_TABLE_ARN ${JSON.stringify(arn)} names no DynamoDB table of the assembly`);
}

/** Every dataset of the assembly in `assemblyDir`, in stack and template order. */
export function datasetsOfAssembly(assemblyDir: string): AssemblyDataset[] {
  const templates = templatesOf(assemblyDir);
  const datasets: AssemblyDataset[] = [];
  for (const [stackName, template] of templates) {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      const args = resource.Type === 'AWS::Glue::Job' && isRecord(resource.Properties?.DefaultArguments) ? resource.Properties.DefaultArguments : undefined;
      const described = args?.['--DATASET'];
      if (typeof described !== 'string') continue;
      const where = `${stackName}/${logicalId}`;
      const dataset = datasetArgument({ DATASET: described });
      const properties = tableOf(templates, stackName, args?.['--SOURCE_TABLE_ARN'], where).Properties ?? {};
      const jobName = resource.Properties?.Name;
      datasets.push({
        stackName,
        dataset,
        jobName: typeof jobName === 'string' ? jobName : `${stackName}-${dataset.name}-to-lake`,
        table: {
          TableName: `${stackName}-${dataset.name}`,
          KeySchema: properties.KeySchema as KeySchemaElement[],
          AttributeDefinitions: properties.AttributeDefinitions as TableDefinition['AttributeDefinitions'],
          BillingMode: 'PAY_PER_REQUEST',
        },
      });
    }
  }
  return datasets;
}
