/**
 * Reads the Glue trigger graph of a synthesized template and checks the rules Glue enforces
 * silently: a conditional trigger only fires for nodes that a trigger of the same workflow
 * started, a node nothing in the workflow can reach never runs, and the start trigger is the one
 * StartWorkflowRun is documented for (ON_DEMAND), without StartOnCreation, which Glue does not
 * support on it (CreateTrigger API).
 */
interface TriggerResource {
  readonly Type: string;
  readonly DependsOn?: string | string[];
  readonly Properties: {
    readonly Type: 'SCHEDULED' | 'ON_DEMAND' | 'CONDITIONAL' | 'EVENT';
    readonly WorkflowName?: unknown;
    readonly StartOnCreation?: boolean;
    readonly Actions: readonly { readonly JobName?: unknown; readonly CrawlerName?: unknown }[];
    readonly Predicate?: { readonly Logical?: string; readonly Conditions: readonly { readonly JobName?: unknown; readonly CrawlerName?: unknown; readonly State?: string; readonly CrawlState?: string; readonly LogicalOperator?: string }[] };
  };
}

/** One trigger: what it waits for and what it starts, by node name (`job:<ref>` / `crawler:<ref>`). */
export interface TriggerEdge {
  readonly id: string;
  readonly type: string;
  readonly workflow: string;
  readonly waitsFor: readonly string[];
  readonly starts: readonly string[];
  readonly startOnCreation: boolean;
}

// Names are often `{ Ref: <logical id> }` in a template: the logical id reads best.
const name = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: unknown } | null)?.Ref;
  return typeof ref === 'string' ? ref : JSON.stringify(value);
};
const nodeOf = (item: { readonly JobName?: unknown; readonly CrawlerName?: unknown }): string =>
  item.JobName !== undefined ? `job:${name(item.JobName)}` : `crawler:${name(item.CrawlerName)}`;

/** The triggers of a template as edges. */
export function triggerEdges(template: { Resources: Record<string, { Type: string }> }): TriggerEdge[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Glue::Trigger')
    .map(([id, resource]) => {
      const { Properties } = resource as TriggerResource;
      return {
        id,
        type: Properties.Type,
        workflow: name(Properties.WorkflowName),
        waitsFor: (Properties.Predicate?.Conditions ?? []).map(nodeOf),
        starts: Properties.Actions.map(nodeOf),
        startOnCreation: Properties.StartOnCreation === true,
      };
    });
}

/** Every rule the graph breaks, as sentences; [] when the graph is sound. */
export function triggerGraphProblems(edges: readonly TriggerEdge[]): string[] {
  const problems: string[] = [];
  for (const workflow of new Set(edges.map((edge) => edge.workflow))) {
    const own = edges.filter((edge) => edge.workflow === workflow);
    const startedInWorkflow = new Set(own.flatMap((edge) => edge.starts));
    for (const edge of own.filter((e) => e.type === 'CONDITIONAL')) {
      for (const node of edge.waitsFor) {
        if (!startedInWorkflow.has(node)) problems.push(`${edge.id} waits for ${node}, which no trigger of workflow ${workflow} starts`);
      }
    }
    const starts = own.filter((edge) => edge.type !== 'CONDITIONAL');
    if (starts.length !== 1) problems.push(`workflow ${workflow} has ${starts.length} start triggers, expected 1`);
    for (const edge of starts) {
      if (edge.type !== 'ON_DEMAND') problems.push(`${edge.id} starts workflow ${workflow} as ${edge.type}: StartWorkflowRun is documented for ON_DEMAND start triggers only`);
      if (edge.type === 'ON_DEMAND' && edge.startOnCreation) problems.push(`${edge.id} is ON_DEMAND with StartOnCreation, which Glue does not support`);
    }
    for (const edge of own.filter((e) => e.type === 'CONDITIONAL' && !e.startOnCreation)) problems.push(`${edge.id} is not started on creation: it never fires`);
    // Walk from the start trigger: a conditional trigger fires once everything it waits for ran.
    const reached = new Set(starts.flatMap((edge) => edge.starts));
    let grew = true;
    while (grew) {
      grew = false;
      for (const edge of own.filter((e) => e.type === 'CONDITIONAL' && e.waitsFor.every((node) => reached.has(node)))) {
        for (const node of edge.starts) {
          if (!reached.has(node)) {
            reached.add(node);
            grew = true;
          }
        }
      }
    }
    for (const node of startedInWorkflow) if (!reached.has(node)) problems.push(`${node} cannot be reached from the start trigger of workflow ${workflow}`);
  }
  return problems;
}

/** The graph as lines `start → a, b` / `a ∧ b → c`, for the test output and the README. */
export function describeTriggerGraph(edges: readonly TriggerEdge[]): string {
  return edges.map((edge) => `${edge.waitsFor.length === 0 ? `${edge.type.toLowerCase().replace('_', '-')} start` : edge.waitsFor.join(' ∧ ')} → ${edge.starts.join(', ')}`).join('\n');
}
