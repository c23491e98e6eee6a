import { JOB_METRICS, RUN_METRICS, STREAM_METRICS, UPLOAD_METRICS } from '../../lambda/shared/metrics';
import type { JobMetric } from './glue/job';
import { count, counted } from './glue/job';
import type { EmfDocument } from './metrics';

/**
 * The local run's metrics, read back as CloudWatch would hold them: the EMF documents the real
 * bridges published (kept by CapturedMetrics) and each job run's figures (a twin's, or what a
 * Spark job gave PutMetricData). Sums, not a copy of any stage's own count, so the summary checks
 * the metrics against the stages.
 */
export interface PipelineMetrics {
  /** stream-to-lake, every dataset together. */
  readonly stream: {
    readonly changeRecordsIn: number;
    readonly inserts: number;
    readonly modifies: number;
    readonly removes: number;
    readonly malformed: number;
    readonly changeObjects: number;
    readonly workflowStarts: number;
    readonly alreadyRunning: number;
  };
  /** upload-to-glue. */
  readonly uploads: { readonly seen: number; readonly runsStarted: number; readonly duplicates: number; readonly keysSkipped: number };
  /** refresh-follow-up: the refresh runs that ended, and the follow-up runs their ends started. */
  readonly refreshRuns: { readonly succeeded: number; readonly failed: number; readonly changeObjectsWaiting: number; readonly followUps: number };
  /** Per job (the `service` dimension), in the order the jobs first ran. */
  readonly jobs: readonly JobFigures[];
  /** The worst lake freshness a run reported (seconds, with the job), among the runs that merged changes. */
  readonly worstFreshness?: { readonly job: string; readonly seconds: number };
}

/** A job's figures over the runs of a local pipeline. */
export interface JobFigures {
  readonly job: string;
  readonly runs: number;
  /** The runs' RunDurationSeconds, summed. */
  readonly seconds: number;
  /** Change objects merged; absent for a job that merges none (a rebuild, a load). */
  readonly changeObjectsMerged?: number;
  /** Keys merged, RowsUpserted + RowsRemoved; absent for a job that publishes neither (all but the dataset merges). */
  readonly rowsMerged?: number;
  readonly rowsWritten: number;
}

/** The sum of `name` over the documents (a document without it counts 0). */
function emfSum(documents: readonly EmfDocument[], name: string): number {
  return documents.reduce((total, document) => total + Number((document as unknown as Record<string, unknown>)[name] ?? 0), 0);
}

/** Sums what the bridges and the job runs published. */
export function summarizeMetrics(
  bridges: { readonly stream: readonly EmfDocument[]; readonly upload: readonly EmfDocument[]; readonly followUp: readonly EmfDocument[] },
  jobRuns: readonly (readonly JobMetric[])[],
): PipelineMetrics {
  const { stream, upload, followUp } = bridges;
  const jobs = new Map<string, { runs: number; seconds: number; changeObjectsMerged?: number; rowsMerged?: number; rowsWritten: number }>();
  let worstFreshness: PipelineMetrics['worstFreshness'];
  for (const metrics of jobRuns) {
    const [first] = metrics;
    if (first === undefined) continue; // a run that published nothing (it failed)
    const published = (name: string) => metrics.find((metric) => metric.name === name)?.value;
    const figure = (name: string) => published(name) ?? 0;
    const job = jobs.get(first.service) ?? { runs: 0, seconds: 0, rowsWritten: 0 };
    job.runs += 1;
    job.seconds += figure(JOB_METRICS.runDuration);
    if (published(JOB_METRICS.changeObjectsMerged) !== undefined) job.changeObjectsMerged = (job.changeObjectsMerged ?? 0) + figure(JOB_METRICS.changeObjectsMerged);
    if (published(JOB_METRICS.rowsUpserted) !== undefined) job.rowsMerged = (job.rowsMerged ?? 0) + figure(JOB_METRICS.rowsUpserted) + figure(JOB_METRICS.rowsRemoved);
    job.rowsWritten += figure(JOB_METRICS.rowsWritten);
    jobs.set(first.service, job);
    const freshness = figure(JOB_METRICS.lakeFreshness);
    if (figure(JOB_METRICS.changeObjectsMerged) > 0 && freshness >= (worstFreshness?.seconds ?? 0)) worstFreshness = { job: first.service, seconds: freshness };
  }
  return {
    stream: {
      changeRecordsIn: emfSum(stream, STREAM_METRICS.changeRecordsIn),
      inserts: emfSum(stream, STREAM_METRICS.insertRecordsIn),
      modifies: emfSum(stream, STREAM_METRICS.modifyRecordsIn),
      removes: emfSum(stream, STREAM_METRICS.removeRecordsIn),
      malformed: emfSum(stream, STREAM_METRICS.malformedRecords),
      changeObjects: emfSum(stream, STREAM_METRICS.changeObjectsWritten),
      workflowStarts: emfSum(stream, STREAM_METRICS.workflowRunsStarted),
      alreadyRunning: emfSum(stream, STREAM_METRICS.workflowAlreadyRunning),
    },
    uploads: {
      seen: emfSum(upload, UPLOAD_METRICS.uploadsSeen),
      runsStarted: emfSum(upload, UPLOAD_METRICS.jobRunsStarted),
      duplicates: emfSum(upload, UPLOAD_METRICS.duplicateDeliveriesSkipped),
      keysSkipped: emfSum(upload, UPLOAD_METRICS.keysSkipped),
    },
    refreshRuns: {
      succeeded: emfSum(followUp, RUN_METRICS.workflowRunsSucceeded),
      failed: emfSum(followUp, RUN_METRICS.workflowRunsFailed),
      changeObjectsWaiting: emfSum(followUp, RUN_METRICS.changeObjectsWaiting),
      followUps: emfSum(followUp, RUN_METRICS.followUpRunsStarted),
    },
    jobs: [...jobs].map(([job, figures]) => ({ job, ...figures })),
    worstFreshness,
  };
}

/** The summary `npm start` prints at the end of a run. */
export function metricsSummaryLines(metrics: PipelineMetrics): string[] {
  const { stream, uploads, refreshRuns } = metrics;
  const seconds = (value: number) => `${value.toFixed(1)} s`;
  return [
    'metrics, as the bridges and jobs published them:',
    `  stream-to-lake: ${counted(stream.changeRecordsIn, 'change record')} in (${count(stream.inserts)} INSERT, ${count(stream.modifies)} MODIFY, ${count(stream.removes)} REMOVE), ${count(stream.malformed)} malformed → ${counted(stream.changeObjects, 'change object')}; workflow started ${count(stream.workflowStarts)}×, already running ${count(stream.alreadyRunning)}×`,
    `  refresh-follow-up: ${counted(refreshRuns.succeeded + refreshRuns.failed, 'refresh run')} ended (${count(refreshRuns.succeeded)} succeeded, ${count(refreshRuns.failed)} failed); ${counted(refreshRuns.changeObjectsWaiting, 'change object')} had landed unmerged during them → ${counted(refreshRuns.followUps, 'follow-up run')} started`,
    `  upload-to-glue: ${counted(uploads.seen, 'upload')} seen, ${counted(uploads.runsStarted, 'job run')} started, ${counted(uploads.duplicates, 'redelivery', 'redeliveries')} answered from the idempotency record, ${counted(uploads.keysSkipped, 'key')} skipped`,
    ...metrics.jobs.map((job) => {
      const merged = [job.changeObjectsMerged === undefined ? [] : [counted(job.changeObjectsMerged, 'change object')], job.rowsMerged === undefined ? [] : [counted(job.rowsMerged, 'key')]].flat();
      return `  ${job.job}: ${counted(job.runs, 'run')} in ${seconds(job.seconds)}; ${merged.length > 0 ? `merged ${merged.join(' of ')}, ` : ''}${counted(job.rowsWritten, 'row')} written`;
    }),
    metrics.worstFreshness === undefined
      ? '  lake freshness: no run merged a change'
      : `  lake freshness: at worst ${seconds(metrics.worstFreshness.seconds)} from a change in DynamoDB to the lake (${metrics.worstFreshness.job})`,
  ];
}
