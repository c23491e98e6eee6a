"""A local stand-in for AWS Glue's `awsglue` module, so the jobs of glue-scripts/ run unchanged on a
local Spark (`npm start -- --engine spark`, `npm run glue`, the Spark tests). Never shipped to Glue.

What it reproduces of Glue, and only that (the calls the jobs make):
- `awsglue.utils.getResolvedOptions`: `--NAME value` pairs as Glue passes them in `sys.argv`; each
  requested name is required, arguments not asked for are ignored.
- `awsglue.context.GlueContext`: `spark_session`; `create_dynamic_frame.from_options` for S3 JSON
  (paths, `recurse`, gzip by suffix), with DynamicFrame choice types; `write_dynamic_frame_from_options`
  to DynamoDB (`dynamodb.output.tableName`, `dynamodb.throughput.write.percent` in 0.1-1.5). AWS
  does not document whether that writer leaves a null field out or stores a NULL attribute, so the
  stand-in refuses an item with a null field: a job must drop them (DynamicFrame.map) to run here.
- `create_dynamic_frame.from_options(connection_type="dynamodb")`: the DynamoDB export connector
  (`dynamodb.export` = `ddb`; orders_to_lake MODE=backfill), in awsglue/_dynamodb_export.py. The
  options are checked as Glue documents them (`dynamodb.tableArn` required and a table ARN,
  `dynamodb.export` ddb or s3, `dynamodb.unnestDDBJson` and `dynamodb.simplifyDDBJson` booleans,
  not both); `dynamodb.s3.bucket` is required here (Glue would fall back to the job's --TempDir).
  DynamoDB's ExportTableToPointInTime is emulated over the local DynamoDB: a consistent scan, now
  (the local DynamoDB keeps no history), written through boto3 to the local S3 in DynamoDB's
  documented export layout; the data files are read back with Spark and unnested (S, N, B as
  strings, numbers keeping their exact text; M, L and sets as structs and arrays). Not here:
  `dynamodb.export` = `s3` (a past export), `dynamodb.exportTime`, the ETL connector.
- `awsglue.job.Job`: `init(name, args)` and `commit()`.
- `awsglue.dynamicframe.DynamicFrame`: `fromDF`, `toDF` (refused while a choice is unresolved, as
  Glue refuses to act on one), `resolveChoice(choice="make_struct")` (one struct member per type,
  named by the type: `int`, `long`, `double`, `string`, `boolean`, `struct`, `array`; the names are
  assumed, the jobs do not depend on them), `map(f)` (records that keep the fields f leaves).

Where AWS does not document a behaviour, the stand-in says so beside it.
S3 paths (`s3://bucket/key`) reach the embedded S3 through a local mirror of its buckets
(scripts/local/spark/local_glue.py; an export's data files are put in the mirror as they are
written, since the runner fills it only before a run); DynamoDB reads and writes go to the
embedded DynamoDB.
"""
