import type { Stack } from 'aws-cdk-lib';
import { templateValues } from './template-values';

/** A metric of a graph, as the dashboard body lists it: namespace, name, dimensions, then its options. */
export interface GraphMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat?: string;
  readonly period?: number;
  readonly label?: string;
  readonly id?: string;
  readonly visible?: boolean;
  readonly yAxis?: 'left' | 'right';
}

/** A math or search expression of a graph. */
export interface GraphExpression {
  readonly expression: string;
  readonly label?: string;
  readonly period?: number;
  readonly yAxis?: 'left' | 'right';
}

/** A widget of the dashboard body, its metrics parsed. */
export interface DashboardWidget {
  readonly type: string;
  readonly width: number;
  readonly height: number;
  readonly x: number;
  readonly y: number;
  readonly title: string;
  readonly metrics: readonly GraphMetric[];
  readonly expressions: readonly GraphExpression[];
  readonly annotations?: { readonly horizontal?: readonly { readonly value: number; readonly label?: string; readonly yAxis?: string }[] };
}

type RawEntry = readonly [...(string | Record<string, unknown>)[]];

/** A body entry `[namespace, name, dim, value, …, {options}]` or `[{expression, …}]`. */
function parseEntry(entry: RawEntry): GraphMetric | GraphExpression {
  const last = entry[entry.length - 1];
  const options = typeof last === 'object' ? last : {};
  const strings = entry.filter((part): part is string => typeof part === 'string');
  if (strings.length === 0) return options as unknown as GraphExpression;
  const [namespace, metricName, ...pairs] = strings;
  const dimensions: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
  return { namespace: namespace as string, metricName: metricName as string, dimensions, ...options };
}

interface RawBody {
  readonly start?: string;
  readonly widgets: { type: string; width: number; height: number; x: number; y: number; properties: { title: string; metrics?: RawEntry[]; annotations?: DashboardWidget['annotations'] } }[];
}

/**
 * The DashboardBody (an Fn::Join) of the one dashboard of `stack`, parsed, with every reference
 * written as the construct path it points at (`${OrdersToLake/Stream/Bridge/Function}`, `${AWS::Region}`).
 */
export function dashboardBody(stack: Stack, exporters: Readonly<Record<string, Stack>> = {}): RawBody {
  const dashboards = Object.values(templateValues(stack, exporters).ofType('AWS::CloudWatch::Dashboard'));
  if (dashboards.length !== 1) throw new Error(`${stack.stackName} has ${dashboards.length} dashboards, not one`);
  const body = (dashboards[0] as { DashboardBody: unknown }).DashboardBody;
  if (typeof body !== 'string') throw new Error(`the dashboard body did not render to a string: ${JSON.stringify(body)}`);
  return JSON.parse(body) as RawBody;
}

/** The widgets of the one dashboard of `stack` ({@link dashboardBody}), each graph's metrics and expressions apart. */
export function dashboardWidgets(stack: Stack, exporters: Readonly<Record<string, Stack>> = {}): DashboardWidget[] {
  return dashboardBody(stack, exporters).widgets.map(({ properties, ...place }) => {
    const entries = (properties.metrics ?? []).map(parseEntry);
    return {
      ...place,
      title: properties.title,
      metrics: entries.filter((entry): entry is GraphMetric => 'metricName' in entry),
      expressions: entries.filter((entry): entry is GraphExpression => 'expression' in entry),
      annotations: properties.annotations,
    };
  });
}

/** The one widget whose title starts with `prefix`. */
export function widgetTitled(widgets: readonly DashboardWidget[], prefix: string): DashboardWidget {
  const found = widgets.filter((widget) => widget.title.startsWith(prefix));
  if (found.length !== 1) throw new Error(`${found.length} widgets have a title starting ${JSON.stringify(prefix)}: ${widgets.map((widget) => widget.title).join(' | ')}`);
  return found[0] as DashboardWidget;
}

/** A metric's identity and statistic on one line: `dynalake/LakeFreshnessSeconds dataset=orders service=orders_to_lake Maximum 3600`. */
export function metricLine(metric: GraphMetric): string {
  const dimensions = Object.entries(metric.dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`);
  return [`${metric.namespace}/${metric.metricName}`, ...dimensions, metric.stat ?? 'Average', String(metric.period ?? 300)].join(' ') + (metric.visible === false ? ' hidden' : '') + (metric.yAxis === 'right' ? ' right' : '');
}
