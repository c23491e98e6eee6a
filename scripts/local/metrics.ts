import { Metrics } from '@aws-lambda-powertools/metrics';
import { BRIDGE_STAGES, DATASET_DIMENSION, DEFAULT_METRICS_NAMESPACE, WORKFLOW_DIMENSION } from '../../lambda/shared/metrics';

/** One published EMF document, as CloudWatch would ingest it from a Lambda's log. */
export type EmfDocument = ReturnType<Metrics['serializeMetrics']>;

/**
 * Powertools Metrics that keeps what the real handlers publish instead of printing it: the local
 * pipeline runs the handlers in its own process, where the EMF lines would mix with its output.
 * The documents are the ones a Lambda prints (serializeMetrics), so the summary reads the same.
 */
export class CapturedMetrics extends Metrics {
  readonly documents: EmfDocument[] = [];

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) this.documents.push(this.serializeMetrics());
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

/** The metrics of a local stream-to-lake, with the dimensions of the deployed one. */
export function localStreamMetrics(dataset: string): CapturedMetrics {
  return new CapturedMetrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: BRIDGE_STAGES.streamToLake, defaultDimensions: { [DATASET_DIMENSION]: dataset } });
}

/** The metrics of a local upload-to-glue, with the dimensions of the deployed one. */
export function localUploadMetrics(dataset: string): CapturedMetrics {
  return new CapturedMetrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: BRIDGE_STAGES.uploadToGlue, defaultDimensions: { [DATASET_DIMENSION]: dataset } });
}

/** The metrics of a local refresh-follow-up, with the dimensions of the deployed one. */
export function localFollowUpMetrics(workflowName: string): CapturedMetrics {
  return new CapturedMetrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: BRIDGE_STAGES.refreshFollowUp, defaultDimensions: { [WORKFLOW_DIMENSION]: workflowName } });
}
