import { BRIDGE_STAGES, DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE, STREAM_METRICS, UPLOAD_METRICS } from '../../../lambda/shared/metrics';

describe('the metrics names', () => {
  it("publish to dynalake's namespace by default, as the bridges' stages", () => {
    expect(DEFAULT_METRICS_NAMESPACE).toBe('dynalake');
    expect(BRIDGE_STAGES).toEqual({ streamToLake: 'stream-to-lake', uploadToGlue: 'upload-to-glue' });
  });

  it('name each metric once, in both bridges together', () => {
    const names = [...Object.values(STREAM_METRICS), ...Object.values(UPLOAD_METRICS)];
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(['dynalake', 'dynalake-dev', 'Shop/Lake', 'a:b', 'with space', '#1', 'x'.repeat(255), ' '])('takes the namespace %j, as CloudWatch does', (namespace) => {
    expect(METRICS_NAMESPACE.test(namespace)).toBe(true);
  });

  it.each(['', ':lake', 'AWS/Lambda', 'AWS/', 'x'.repeat(256), 'lake\n', 'tab\there', 'lac é', 'del\x7f'])('refuses the namespace %j, as CloudWatch would', (namespace) => {
    expect(METRICS_NAMESPACE.test(namespace)).toBe(false);
  });
});
