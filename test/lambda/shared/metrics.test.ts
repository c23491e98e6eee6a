import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BRIDGE_STAGES, DEFAULT_METRICS_NAMESPACE, JOB_METRIC_UNITS, JOB_METRICS, METRICS_NAMESPACE, metricsNamespaceOf, RUN_METRICS, STREAM_METRICS, UPLOAD_METRICS, WORKFLOW_DIMENSION } from '../../../lambda/shared/metrics';

describe('the metrics names', () => {
  it("publish to dynalake's namespace by default, as the bridges' stages", () => {
    expect(DEFAULT_METRICS_NAMESPACE).toBe('dynalake');
    expect(BRIDGE_STAGES).toEqual({ streamToLake: 'stream-to-lake', uploadToGlue: 'upload-to-glue', refreshFollowUp: 'refresh-follow-up' });
    expect(WORKFLOW_DIMENSION).toBe('workflow');
  });

  it('name each metric once, in the bridges and the jobs together', () => {
    const names = [...Object.values(STREAM_METRICS), ...Object.values(UPLOAD_METRICS), ...Object.values(JOB_METRICS), ...Object.values(RUN_METRICS)];
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(JOB_METRIC_UNITS).sort()).toEqual(Object.values(JOB_METRICS).sort());
  });

  it("are the Glue jobs' own: glue-scripts/dynalake_glue.py publishes the same names with the same units", () => {
    const source = readFileSync(join(__dirname, '..', '..', '..', 'glue-scripts', 'dynalake_glue.py'), 'utf8');
    const block = /^JOB_METRIC_UNITS = \{\n([\s\S]*?)\n\}/m.exec(source)?.[1] ?? '';
    const python: Record<string, string> = Object.fromEntries([...block.matchAll(/^ {4}"(\w+)": "(\w+)",$/gm)].map((match) => [match[1] ?? "", match[2] ?? ""]));
    expect(python).toEqual(JOB_METRIC_UNITS);
  });

  it('read METRICS_NAMESPACE, unset or empty meaning the default', () => {
    expect(metricsNamespaceOf('shop-prod')).toBe('shop-prod');
    expect(metricsNamespaceOf('')).toBe('dynalake');
    expect(metricsNamespaceOf(undefined)).toBe('dynalake');
  });

  it.each(['dynalake', 'dynalake-dev', 'Shop/Lake', 'a:b', 'with space', '#1', 'x'.repeat(255), ' '])('takes the namespace %j, as CloudWatch does', (namespace) => {
    expect(METRICS_NAMESPACE.test(namespace)).toBe(true);
  });

  it.each(['', ':lake', 'AWS/Lambda', 'AWS/', 'x'.repeat(256), 'lake\n', 'tab\there', 'lac é', 'del\x7f'])('refuses the namespace %j, as CloudWatch would', (namespace) => {
    expect(METRICS_NAMESPACE.test(namespace)).toBe(false);
  });
});
