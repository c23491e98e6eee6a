"""orders_to_lake: keeps the curated orders table (Parquet, partitioned by invoice_day) equal to
the orders DynamoDB table.

MODE=incremental (the refresh workflow): the change objects not merged yet (the job's own state
object, dynalake_glue.parse_state) are merged into the partitions they touch; no other partition
is read or written, and a run with no new change object reads and writes nothing. MODE=backfill (run by hand: first deployment, or a repair): the whole table is read
through a DynamoDB export (needs point-in-time recovery) and the curated table is rewritten.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DecimalType, DoubleType, NullType, StructType

from dynalake_glue import (
    CHANGE_OBJECT_SUFFIX,
    CURATED_ORDERS_DDL,
    UNIT_PRICE_PRECISION,
    list_keys,
    next_state,
    parse_state,
    pending_keys,
    read_text_object,
    render_state,
    s3_path,
    start_glue_job,
    state_key,
    write_text_object,
)

JOB = "orders_to_lake"
ARGUMENTS = ["JOB_NAME", "LANDING_BUCKET", "LAKE_BUCKET", "CDC_PREFIX", "CURATED_PREFIX", "STATE_PREFIX", "MODE", "SOURCE_TABLE_ARN", "EXPORT_BUCKET", "EXPORT_PREFIX"]

PARTITION = "invoice_day"
KEY = ["invoice_no", "line_no"]
# Sequence numbers are decimal strings of up to ~40 digits, beyond any Spark integer type; padded
# with zeros to one width they sort as text exactly as they do as numbers.
_SEQUENCE_WIDTH = 64


def _attr(frame: DataFrame, image: str | None, name: str) -> tuple[Column, DataType]:
    """Item attribute `name` and its type: a top-level column (image None) or a field of the struct
    column `image`. JSON readers leave out of the schema what no record has (CustomerID in a batch
    of anonymous rows, oldImage in a batch of INSERTs), so a missing one is a null."""
    fields = frame.schema
    if image is not None:
        holder = fields[image].dataType if image in fields.names else None
        if not isinstance(holder, StructType):
            return F.lit(None), NullType()
        fields = holder
    if name not in fields.names:
        return F.lit(None), NullType()
    column = F.col(name) if image is None else F.col(image)[name]
    return column, fields[name].dataType


def _cast(column: Column, dtype: DataType, target: str) -> Column:
    """`column` (of type `dtype`) as `target`. A struct is a Glue choice, made by
    resolveChoice(make_struct) when records disagree on a field's JSON type (6 and "6"): one member
    per type, each converted on its own, the first non-null one wins."""
    if isinstance(dtype, StructType):
        return F.coalesce(*(_cast(column[field.name], field.dataType, target) for field in dtype.fields))
    return column.cast(target)


def _unit_price(column: Column, dtype: DataType) -> Column:
    """UnitPrice as DECIMAL(12,3), exactly; a value it would round or cannot hold fails the job
    rather than reach the lake changed."""
    if isinstance(dtype, StructType):
        return F.coalesce(*(_unit_price(column[field.name], field.dataType) for field in dtype.fields))
    precision, scale = UNIT_PRICE_PRECISION
    price = column.cast(DecimalType(precision, scale))
    if isinstance(dtype, DoubleType):
        # A JSON number the reader parsed as binary is off the written price by at most one unit
        # in the last place, under 10^-6 below 10^9. Seen at 6 decimals, a price written with at
        # most 3 matches its rounding to 3 (which recovers it exactly); one with more does not.
        unrounded = column.cast(DecimalType(38, 6))
    else:
        # Text, integers and decimals convert exactly at 18 decimals.
        unrounded = column.cast(DecimalType(38, 18))
    fits = price.isNotNull() & (unrounded == price)
    problem = F.concat(F.lit("UnitPrice "), column.cast("string"), F.lit(f" does not fit DECIMAL({precision},{scale}) exactly"))
    return F.when(column.isNull() | fits, price).otherwise(F.raise_error(problem))


def curated_rows(items: DataFrame, image: str | None = None) -> DataFrame:
    """Orders items as curated rows (CURATED_ORDERS_DDL): from top-level columns (an export), or
    from the struct column `image` of change records. Numbers may come as text or as JSON
    numbers; both convert exactly."""

    def attr(name: str, target: str) -> Column:
        return _cast(*_attr(items, image, name), target)

    return items.select(
        attr("InvoiceNo", "string").alias("invoice_no"),
        attr("LineNo", "int").alias("line_no"),
        attr("StockCode", "string").alias("stock_code"),
        attr("Description", "string").alias("description"),
        attr("Quantity", "int").alias("quantity"),
        _unit_price(*_attr(items, image, "UnitPrice")).alias("unit_price"),
        F.to_timestamp(attr("InvoiceDate", "string"), "yyyy-MM-dd'T'HH:mm:ss").alias("invoice_ts"),
        attr("CustomerID", "bigint").alias("customer_id"),
        attr("Country", "string").alias("country"),
        attr("IsCancellation", "boolean").alias("is_cancellation"),
        attr("InvoiceDay", "string").alias(PARTITION),
    )


def touched_days(changes: DataFrame) -> list[str]:
    """The invoice_day partitions a batch of change records may change (dynalake_glue.touched_days
    in Spark): the days of every new and old image, since a MODIFY can move a row between days."""
    new_day = _cast(*_attr(changes, "newImage", "InvoiceDay"), "string")
    old_day = _cast(*_attr(changes, "oldImage", "InvoiceDay"), "string")
    summary = changes.agg(
        F.collect_set(new_day).alias("new"),
        F.collect_set(old_day).alias("old"),
        F.count(F.when((F.col("eventName") != "INSERT") & old_day.isNull(), True)).alias("blind"),
    ).first()
    if summary["blind"]:
        raise ValueError(
            f"{summary['blind']} MODIFY/REMOVE change records have no old image: "
            "the stream must send NEW_AND_OLD_IMAGES to locate the rows' partitions"
        )
    return sorted(set(summary["new"]) | set(summary["old"]))


def latest_changes(changes: DataFrame) -> DataFrame:
    """The last change of each key (dynalake_glue.latest_changes in Spark), with the key as
    columns invoice_no and line_no. The greatest sequence number wins; a tie, which DynamoDB never
    produces, goes to the record read later."""
    keyed = changes.select(
        "*",
        _cast(*_attr(changes, "keys", "InvoiceNo"), "string").alias("invoice_no"),
        _cast(*_attr(changes, "keys", "LineNo"), "int").alias("line_no"),
        F.monotonically_increasing_id().alias("_read_order"),
    )
    newest_first = Window.partitionBy(*KEY).orderBy(
        F.lpad(F.col("sequenceNumber").cast("string"), _SEQUENCE_WIDTH, "0").desc(), F.col("_read_order").desc()
    )
    return keyed.withColumn("_rank", F.row_number().over(newest_first)).where(F.col("_rank") == 1).drop("_rank", "_read_order")


def transform_cdc(changes: DataFrame, current: DataFrame) -> tuple[DataFrame, list[str]]:
    """Merges a batch of orders change records into the curated table `current`.

    Returns the new content of the touched partitions and the list of those partitions. The
    caller overwrites each of them and deletes those the result leaves empty: a dynamic partition
    overwrite leaves alone a partition it writes no row to.
    """
    days = touched_days(changes)
    latest = latest_changes(changes)
    upserts = curated_rows(latest.where(F.col("eventName") != "REMOVE"), "newImage")
    # Every key of the batch leaves its old partition; the upserts put the live ones back, in the
    # partition of their new image.
    kept = current.where(F.col(PARTITION).isin(days)).join(latest.select(*KEY), KEY, "left_anti")
    return kept.unionByName(upserts), days


def _path_exists(spark: SparkSession, path: str) -> bool:
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hadoop_path)


def _delete_partitions(spark: SparkSession, table: str, days: list[str]) -> None:
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for day in days:
        hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(f"{table}{PARTITION}={day}")
        hadoop_path.getFileSystem(hadoop_conf).delete(hadoop_path, True)


def _write(rows: DataFrame, table: str, overwrite_mode: str) -> None:
    # One task per day: one Parquet file per partition, not one per input split.
    (
        rows.repartition(PARTITION)
        .write.mode("overwrite")
        .option("partitionOverwriteMode", overwrite_mode)
        .partitionBy(PARTITION)
        .parquet(table)
    )


def _merge(glue_context, spark: SparkSession, paths: list[str], table: str) -> None:
    source = glue_context.create_dynamic_frame.from_options(connection_type="s3", connection_options={"paths": paths}, format="json")
    # A field seen with several JSON types becomes a struct of one member per type, which
    # curated_rows converts member by member, never through a lossy common type.
    changes = source.resolveChoice(choice="make_struct").toDF()
    if not changes.columns:
        return  # the new objects hold no record
    current = spark.read.schema(CURATED_ORDERS_DDL).parquet(table) if _path_exists(spark, table) else spark.createDataFrame([], CURATED_ORDERS_DDL)
    rows, days = transform_cdc(changes, current)
    # Computed once, before the write replaces the partitions it reads.
    rows = rows.persist()
    written = {row[PARTITION] for row in rows.select(PARTITION).distinct().collect()}
    _write(rows, table, "dynamic")
    _delete_partitions(spark, table, [day for day in days if day not in written])
    rows.unpersist()


def _incremental(glue_context, spark: SparkSession, args: dict[str, str], table: str) -> None:
    landing, lake = args["LANDING_BUCKET"], args["LAKE_BUCKET"]
    source = s3_path(landing, args["CDC_PREFIX"])
    state = state_key(args["STATE_PREFIX"])
    sources = parse_state(read_text_object(spark, lake, state), JOB, f"s3://{lake}/{state}")
    merged = sources.get(source, set())
    listed = list_keys(spark, landing, args["CDC_PREFIX"], CHANGE_OBJECT_SUFFIX)
    new = pending_keys(listed, merged)
    if new:
        _merge(glue_context, spark, [f"s3://{landing}/{key}" for key in new], table)
    kept = next_state(listed, merged, new)
    if set(kept) != merged:
        # Only now that the partitions are in place: a crash before this line re-merges `new`.
        sources[source] = set(kept)
        write_text_object(spark, lake, state, render_state(JOB, sources, datetime.now(timezone.utc).isoformat(timespec="milliseconds")))


def _backfill(glue_context, args: dict[str, str], table: str) -> None:
    items = glue_context.create_dynamic_frame.from_options(
        connection_type="dynamodb",
        connection_options={
            "dynamodb.export": "ddb",
            "dynamodb.tableArn": args["SOURCE_TABLE_ARN"],
            "dynamodb.s3.bucket": args["EXPORT_BUCKET"],
            "dynamodb.s3.prefix": args["EXPORT_PREFIX"],
            "dynamodb.unnestDDBJson": True,
        },
    )
    _write(curated_rows(items.resolveChoice(choice="make_struct").toDF()), table, "static")


def main() -> None:
    args, glue_context, spark, job = start_glue_job(sys.argv, ARGUMENTS)
    if args["MODE"] not in ("incremental", "backfill"):
        raise ValueError(f"MODE must be incremental or backfill, not {args['MODE']!r}")
    table = s3_path(args["LAKE_BUCKET"], args["CURATED_PREFIX"])
    if args["MODE"] == "incremental":
        _incremental(glue_context, spark, args, table)
    else:
        _backfill(glue_context, args, table)
    job.commit()


if __name__ == "__main__":
    main()
