"""csv_to_dynamodb: loads one uploaded e-commerce CSV (s3://S3_BUCKET/S3_KEY) into a DynamoDB table.

Each item's id is derived from the row's own content (dynalake_glue.row_id), so loading the same
file twice writes the same items, and exact duplicate rows collapse into one. The table must
exist (partition key `id`, string); the job creates nothing.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from dynalake_glue import ORDER_COLUMNS, js_trim, literal_path, normalized_row, publish_job_metrics, row_id, start_glue_job

JOB = "csv_to_dynamodb"
ARGUMENTS = ["JOB_NAME", "S3_BUCKET", "S3_KEY", "DYNAMODB_TABLE", "WRITE_PERCENT", "METRICS_NAMESPACE", "TARGET_DATASET"]
# Where the CSV reader puts a row whose field count is not the header's.
CORRUPT_RECORD = "_corrupt_record"

_ITEM = StructType([StructField("id", StringType(), False)] + [StructField(column, StringType()) for column in ORDER_COLUMNS])


def _csv_reader(spark: SparkSession, multi_line: bool):
    return (
        spark.read.option("header", True)
        .option("encoding", "ISO-8859-1")  # the Kaggle file's encoding (£, é)
        .option("multiLine", multi_line)  # a quoted value may span lines
        .option("quote", '"')
        .option("escape", '"')  # a quote inside a quoted value is doubled, as RFC 4180 writes it
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
    )


def read_orders_csv(spark: SparkSession, path: str) -> DataFrame:
    """The file as text columns named by its header. Every value stays text exactly as written:
    the id hashes the text, and Description's own spaces are part of it.

    The header is read first, line by line, and the file then with that schema: a multi-line
    read that infers its schema lists its input again through Hadoop's FileInputFormat, which
    takes the already resolved path as a glob, so a key such as `sales [2011].csv` matched
    nothing (found running the job on Spark 3.5.4). With a schema given, nothing is listed twice.
    """
    header = _csv_reader(spark, multi_line=False).option("inferSchema", False).csv(path).columns
    schema = StructType([StructField(name, StringType()) for name in header] + [StructField(CORRUPT_RECORD, StringType())])
    return _csv_reader(spark, multi_line=True).schema(schema).option("enforceSchema", True).option("columnNameOfCorruptRecord", CORRUPT_RECORD).csv(path)


def split_rejects(rows: DataFrame) -> tuple[DataFrame, DataFrame]:
    """The rows with as many fields as the header, and the others: Spark would pad a short row with
    nulls and cut a long one, and load a row the file does not hold; they are rejected instead,
    as the DuckDB twin rejects them. Cached: Spark refuses a query of the corrupt-record column
    alone on the raw file."""
    rows = rows.cache()
    return rows.where(F.col(CORRUPT_RECORD).isNull()).drop(CORRUPT_RECORD), rows.where(F.col(CORRUPT_RECORD).isNotNull())


def _item(*values: str | None) -> tuple[str | None, ...]:
    row = dict(zip(ORDER_COLUMNS, values))
    normalized = normalized_row(row)
    # The item holds the values its id was computed from, so the rows an id collapses are equal
    # and it does not matter which one the dedupe keeps. Empty values are left out of the item.
    return (row_id(row), *(normalized[column] or None for column in ORDER_COLUMNS))


def to_items(rows: DataFrame, source_file: str, ingested_at: str) -> DataFrame:
    """CSV rows (columns by header name, in any order) → one item per distinct row id, with
    ingestion_timestamp and source_file added after the id, which they must not influence."""
    header = {js_trim(name): name for name in rows.columns}
    missing = [column for column in ORDER_COLUMNS if column not in header]
    if missing:
        raise ValueError(f"{source_file}: the header has no column {', '.join(missing)}")
    item = F.udf(_item, _ITEM)(*(F.col(f"`{header[column]}`") for column in ORDER_COLUMNS))
    return (
        rows.select(item.alias("item"))
        .select("item.*")
        .dropDuplicates(["id"])
        .withColumn("ingestion_timestamp", F.lit(ingested_at))
        .withColumn("source_file", F.lit(source_file))
    )


def without_nulls(record: dict) -> dict:
    """The record without its null fields (DynamicFrame.map's function: a DynamicRecord in, out)."""
    for name in [name for name in list(record.keys()) if record[name] is None]:
        del record[name]
    return record


def main() -> None:
    # awsglue exists only on Glue: imported here so the transformations above import, and are
    # tested, with plain pyspark.
    from awsglue.dynamicframe import DynamicFrame

    started = time.monotonic()
    # One value for the whole run, in the form the seed's LoadedAt uses (JavaScript toISOString).
    ingested_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    args, glue_context, spark, job = start_glue_job(sys.argv, ARGUMENTS)
    key = args["S3_KEY"]
    rows, rejected = split_rejects(read_orders_csv(spark, literal_path(f"s3://{args['S3_BUCKET']}/{key}")))
    items = to_items(rows, key, ingested_at).cache()
    # Nothing lost, and the run's log says so: read = written + duplicates + rejected.
    counts = {"read": rows.count(), "written": items.count(), "rejected": rejected.count()}
    print(
        f"s3://{args['S3_BUCKET']}/{key} → {args['DYNAMODB_TABLE']}: read {counts['read'] + counts['rejected']} rows = written {counts['written']} + "
        f"duplicates {counts['read'] - counts['written']} + rejected {counts['rejected']}"
    )
    for row in rejected.select(CORRUPT_RECORD).limit(10).collect():
        print(f"rejected (its field count is not the header's): {row[0]!r}")
    glue_context.write_dynamic_frame_from_options(
        # An empty value is no attribute of the item. Glue's DynamoDB writer does not document what
        # it does with a null field, so none reaches it.
        frame=DynamicFrame.fromDF(items, glue_context, "items").map(f=without_nulls),
        connection_type="dynamodb",
        connection_options={
            "dynamodb.output.tableName": args["DYNAMODB_TABLE"],
            "dynamodb.throughput.write.percent": args["WRITE_PERCENT"],
        },
    )
    job.commit()
    # After the commit: rows read (rejected included) and items written, by the loaded table's dataset.
    figures = {"RowsRead": counts["read"] + counts["rejected"], "RowsWritten": counts["written"], "RunDurationSeconds": round(time.monotonic() - started, 3)}
    publish_job_metrics(args["METRICS_NAMESPACE"], JOB, args["TARGET_DATASET"], figures)


if __name__ == "__main__":
    main()
