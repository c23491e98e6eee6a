"""orders_to_lake: keeps the curated orders table (Parquet, partitioned by invoice_day) equal to
the orders DynamoDB table.

MODE=incremental (the refresh workflow): the change objects not merged yet (the job's own state
object, dynalake_glue.parse_state) are merged into the partitions they touch; no other partition
is read or written, and a run with no new change object reads and writes nothing. MODE=backfill (run by hand: first deployment, or a repair): the whole table is read
through a DynamoDB export (needs point-in-time recovery) and the curated table is rewritten.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DataType, DecimalType, DoubleType, NullType, StringType, StructType

from dynalake_glue import CURATED_ORDERS_DDL, UNIT_PRICE_PRECISION, delete_partitions, path_exists, pending_changes, s3_path, start_glue_job

JOB = "orders_to_lake"
ARGUMENTS = ["JOB_NAME", "LANDING_BUCKET", "LAKE_BUCKET", "CDC_PREFIX", "CURATED_PREFIX", "STATE_PREFIX", "MODE", "SOURCE_TABLE_ARN", "EXPORT_BUCKET", "EXPORT_PREFIX"]

PARTITION = "invoice_day"
KEY = ["invoice_no", "line_no"]
# Sequence numbers are decimal strings of up to ~40 digits, beyond any Spark integer type; padded
# with zeros to one width they sort as text exactly as they do as numbers. The stream bridge's codec
# (lambda/shared/cdc.ts) takes at most 64 digits; anything else is refused, never padded and
# compared as text out of order.
_SEQUENCE_WIDTH = 64
_EVENTS = ("INSERT", "MODIFY", "REMOVE")


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


def _members(column: Column, dtype: DataType) -> list[tuple[Column, DataType]]:
    """The values a field holds: one, or one per member of a Glue choice (a struct, see _cast)."""
    if isinstance(dtype, StructType):
        return [(column[field.name], field.dataType) for field in dtype.fields]
    return [(column, dtype)]


def _written(column: Column, dtype: DataType) -> Column:
    """The value as text, for messages (`null` when there is none)."""
    return F.coalesce(*(member.cast("string") for member, _type in _members(column, dtype)), F.lit("null"))


def _checked(value: Column, ok: Column, what: Column, problem: Column) -> Column:
    """`value` where `ok`, else the run fails naming the record and the problem. Glue runs Spark
    with ANSI mode off, where a cast that cannot convert gives a null: every conversion here is
    checked, so a bad value fails the run as it does in the DuckDB twin, never reaches the lake as
    a null or a rounded number."""
    return F.when(ok, value).otherwise(F.raise_error(F.concat(what, problem)))


def _all(conditions: list[Column]) -> Column:
    combined = F.lit(True)
    for condition in conditions:
        combined = combined & condition
    return combined


_INT_BOUNDS = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


def _whole(column: Column, dtype: DataType, target: str, name: str, what: Column, empty_is_null: bool = False) -> Column:
    """A whole number (6, "6", 6.0) as `target`; a fraction, a boolean, text that is no number or a
    number out of range fails the run (a plain cast would truncate 6.5 to 6, or give a null)."""
    low, high = _INT_BOUNDS[target]
    values, oks = [], []
    for member, member_type in _members(column, dtype):
        if empty_is_null and isinstance(member_type, StringType):
            member = F.when(member == "", F.lit(None)).otherwise(member)
        if isinstance(member_type, BooleanType):
            oks.append(member.isNull())
            continue
        exact = member.cast(DecimalType(38, 9))
        oks.append(member.isNull() | (exact.isNotNull() & (exact == F.floor(exact)) & exact.between(low, high)))
        values.append(exact.cast(target))
    value = F.coalesce(*values) if values else F.lit(None).cast(target)
    return _checked(value, _all(oks), what, F.concat(F.lit(f"{name} "), _written(column, dtype), F.lit(" is not a whole number")))


def _boolean(column: Column, dtype: DataType, name: str, what: Column) -> Column:
    """A JSON boolean; anything else ("true" as text, 1, null) fails the run, as in the twin."""
    booleans = [member for member, member_type in _members(column, dtype) if isinstance(member_type, BooleanType)]
    value = F.coalesce(*booleans) if booleans else F.lit(None).cast("boolean")
    return _checked(value, value.isNotNull(), what, F.concat(F.lit(f"{name} "), _written(column, dtype), F.lit(" is not a boolean")))


def _unit_price(column: Column, dtype: DataType, what: Column) -> Column:
    """UnitPrice as DECIMAL(12,3), exactly; a value it would round or cannot hold fails the job
    rather than reach the lake changed."""
    precision, scale = UNIT_PRICE_PRECISION
    values, oks = [], []
    for member, member_type in _members(column, dtype):
        if isinstance(member_type, BooleanType):
            oks.append(member.isNull())
            continue
        price = member.cast(DecimalType(precision, scale))
        if isinstance(member_type, DoubleType):
            # A JSON number the reader parsed as binary is off the written price by at most one unit
            # in the last place, under 10^-6 below 10^9. Seen at 6 decimals, a price written with at
            # most 3 matches its rounding to 3 (which recovers it exactly); one with more does not.
            unrounded = member.cast(DecimalType(38, 6))
        else:
            # Text, integers and decimals convert exactly at 18 decimals.
            unrounded = member.cast(DecimalType(38, 18))
        fits = price.isNotNull() & (unrounded == price)
        if isinstance(member_type, StringType):
            # Decimals past the 18th are rounded away by that cast too: plain text with a non-zero
            # digit past the column's scale does not fit, however far out (as in the twin).
            fits = fits & ~member.rlike(rf"^\s*[+-]?[0-9]*\.[0-9]{{{scale}}}[0-9]*[1-9][0-9]*\s*$")
        oks.append(member.isNull() | fits)
        values.append(price)
    value = F.coalesce(*values) if values else F.lit(None).cast(DecimalType(precision, scale))
    problem = F.concat(F.lit("UnitPrice "), _written(column, dtype), F.lit(f" does not fit DECIMAL({precision},{scale}) exactly"))
    return _checked(value, _all(oks), what, problem)


def curated_rows(items: DataFrame, image: str | None = None) -> DataFrame:
    """Orders items as curated rows (CURATED_ORDERS_DDL): from top-level columns (an export), or
    from the struct column `image` of change records. Numbers may come as text or as JSON
    numbers; both convert exactly. A value the lake cannot hold as written fails the run, naming
    the record, the field and the value."""

    def attr(name: str, target: str) -> Column:
        return _cast(*_attr(items, image, name), target)

    invoice_no = attr("InvoiceNo", "string")
    what = F.concat(F.lit("orders change "), F.coalesce(invoice_no, F.lit("?")), F.lit("/"), _written(*_attr(items, image, "LineNo")), F.lit(": "))
    invoice_date = attr("InvoiceDate", "string")
    invoice_ts = F.to_timestamp(invoice_date, "yyyy-MM-dd'T'HH:mm:ss")
    invoice_day = attr("InvoiceDay", "string")
    real_day = F.coalesce(invoice_day.rlike("^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & F.to_date(invoice_day, "yyyy-MM-dd").isNotNull(), F.lit(False))
    return items.select(
        invoice_no.alias("invoice_no"),
        _whole(*_attr(items, image, "LineNo"), "int", "LineNo", what).alias("line_no"),
        attr("StockCode", "string").alias("stock_code"),
        attr("Description", "string").alias("description"),
        _whole(*_attr(items, image, "Quantity"), "int", "Quantity", what).alias("quantity"),
        _unit_price(*_attr(items, image, "UnitPrice"), what).alias("unit_price"),
        _checked(
            invoice_ts, invoice_date.isNull() | invoice_ts.isNotNull(), what, F.concat(F.lit("InvoiceDate "), F.coalesce(invoice_date, F.lit("null")), F.lit(" is not a time in the form YYYY-MM-DDTHH:MM:SS"))
        ).alias("invoice_ts"),
        _whole(*_attr(items, image, "CustomerID"), "bigint", "CustomerID", what, empty_is_null=True).alias("customer_id"),
        attr("Country", "string").alias("country"),
        _boolean(*_attr(items, image, "IsCancellation"), "IsCancellation", what).alias("is_cancellation"),
        _checked(invoice_day, real_day, what, F.concat(F.lit("InvoiceDay "), F.coalesce(invoice_day, F.lit("null")), F.lit(" is not a day in the form YYYY-MM-DD"))).alias(PARTITION),
    )


def touched_days(changes: DataFrame) -> list[str]:
    """The invoice_day partitions a batch of change records may change: the days of every new and
    old image, since a MODIFY can move a row between days, and every record counts, not just the
    latest of its key, so a key changed twice is found in whatever partition the lake holds it."""
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
    days = sorted(set(summary["new"]) | set(summary["old"]))
    # Days name partition folders: only real days get that far (the twin's message, word for word).
    for day in days:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day) is None or not _is_date(day):
            raise ValueError(f"a change record's InvoiceDay {json.dumps(day)} is not a day in the form YYYY-MM-DD")
    return days


def _is_date(day: str) -> bool:
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _ordered_sequence(changes: DataFrame, what: Column) -> Column:
    """A record's sequence number padded to sort as text as it does as a number; a sequence number
    that is not a decimal string of at most _SEQUENCE_WIDTH digits (a JSON number, -1, 12a, or
    longer, which padding would cut) fails the run, and so does an event the merge does not know."""
    column, dtype = _attr(changes, None, "sequenceNumber")
    members = _members(column, dtype)
    texts = [member for member, member_type in members if isinstance(member_type, StringType)]
    text = F.coalesce(*texts) if texts else F.lit(None).cast("string")
    decimal_string = F.coalesce(text.rlike(f"^[0-9]{{1,{_SEQUENCE_WIDTH}}}$"), F.lit(False))
    ok = _all([member.isNull() for member, member_type in members if not isinstance(member_type, StringType)] + [decimal_string])
    sequence = _checked(F.lpad(text, _SEQUENCE_WIDTH, "0"), ok, what, F.concat(F.lit("sequenceNumber "), _written(column, dtype), F.lit(" is not a decimal string")))
    event = _cast(*_attr(changes, None, "eventName"), "string")
    known = F.coalesce(event.isin(*_EVENTS), F.lit(False))
    return _checked(sequence, known, what, F.concat(F.lit("eventName "), F.coalesce(event, F.lit("null")), F.lit(f" is not {', '.join(_EVENTS[:-1])} or {_EVENTS[-1]}")))


def latest_changes(changes: DataFrame) -> DataFrame:
    """The last change of each key, with the key as columns invoice_no and line_no. The greatest
    sequence number wins, compared as an integer; a tie, which DynamoDB never produces, goes to the
    record read later. Input order does not matter otherwise (retried batches and parallel shards
    arrive out of order)."""
    invoice_no = _cast(*_attr(changes, "keys", "InvoiceNo"), "string")
    line_no = _cast(*_attr(changes, "keys", "LineNo"), "int")
    what = F.concat(F.lit("orders change "), F.coalesce(invoice_no, F.lit("?")), F.lit("/"), F.coalesce(line_no.cast("string"), F.lit("?")), F.lit(": "))
    keyed = changes.select(
        "*",
        invoice_no.alias("invoice_no"),
        line_no.alias("line_no"),
        # Checked here, where every record's is computed to sort them (see _ordered_sequence).
        _ordered_sequence(changes, what).alias("_sequence"),
        F.monotonically_increasing_id().alias("_read_order"),
    )
    newest_first = Window.partitionBy(*KEY).orderBy(F.col("_sequence").desc(), F.col("_read_order").desc())
    return keyed.withColumn("_rank", F.row_number().over(newest_first)).where(F.col("_rank") == 1).drop("_rank", "_sequence", "_read_order")


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
    current = spark.read.schema(CURATED_ORDERS_DDL).parquet(table) if path_exists(spark, table) else spark.createDataFrame([], CURATED_ORDERS_DDL)
    rows, days = transform_cdc(changes, current)
    # Computed once, before the write replaces the partitions it reads.
    rows = rows.persist()
    written = {row[PARTITION] for row in rows.select(PARTITION).distinct().collect()}
    _write(rows, table, "dynamic")
    delete_partitions(spark, table, PARTITION, [day for day in days if day not in written])
    rows.unpersist()


def _incremental(glue_context, spark: SparkSession, args: dict[str, str], table: str) -> None:
    landing = args["LANDING_BUCKET"]
    pending = pending_changes(spark, JOB, landing, args["LAKE_BUCKET"], args["STATE_PREFIX"], [args["CDC_PREFIX"]])
    [change] = pending.changes
    if change.new:
        _merge(glue_context, spark, [f"s3://{landing}/{key}" for key in change.new], table)
        print(f"merged {len(change.new)} new change object{'' if len(change.new) == 1 else 's'} of {change.source} ({len(change.merged & set(change.listed))} merged before)")
    else:
        print(f"no new change objects in {change.source} since the last run ({len(change.listed)} merged before): nothing to do")
    # Only now that the partitions are in place: a crash before this line re-merges `change.new`.
    pending.save()


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
    rows = curated_rows(items.resolveChoice(choice="make_struct").toDF()).persist()
    # Every item converted (a refused one fails the run here) before the static overwrite deletes
    # the old table: a bad item never leaves the lake empty.
    written = rows.count()
    partitions = rows.select(PARTITION).distinct().count()
    _write(rows, table, "static")
    rows.unpersist()
    print(f"backfill: read {written} items from the DynamoDB export of {args['SOURCE_TABLE_ARN']}, wrote {written} rows (= items read) in {partitions} partitions")


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
