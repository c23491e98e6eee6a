"""dataset_to_lake: the CDC merge of one dataset (the job `<dataset>_to_lake` of lib/constructs/lake-dataset.ts). Keeps a curated lake table (Parquet, partitioned
by day) equal to a DynamoDB table, as the dataset description of its DATASET argument says
(lib/dataset.ts DatasetDescription); the curated orders table is one instance (ORDERS_DATASET).

MODE=incremental (the refresh workflow): the change objects not merged yet (the job's own state
object, dynalake_glue.parse_state) are merged into the partitions they touch; no other partition
is read or written, and a run with no new change object reads and writes nothing. MODE=backfill (run by hand: first deployment, or a repair): the whole table is read
through a DynamoDB export (needs point-in-time recovery) and the curated table is rewritten.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import date
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DataType, DecimalType, DoubleType, IntegerType, LongType, NullType, StringType, StructField, StructType, TimestampType

from dynalake_glue import (
    Dataset,
    DatasetColumn,
    delete_partitions,
    lake_freshness_seconds,
    parse_dataset,
    path_exists,
    pending_changes,
    publish_job_metrics,
    s3_path,
    start_glue_job,
    timestamp_format_display,
)

__all__ = ["ARGUMENTS", "curated_rows", "lake_schema", "latest_changes", "parse_dataset", "touched_days", "transform_cdc"]

ARGUMENTS = ["JOB_NAME", "LANDING_BUCKET", "LAKE_BUCKET", "CDC_PREFIX", "CURATED_PREFIX", "STATE_PREFIX", "MODE", "SOURCE_TABLE_ARN", "EXPORT_BUCKET", "EXPORT_PREFIX", "DATASET", "METRICS_NAMESPACE"]

# Sequence numbers are decimal strings of up to ~40 digits, beyond any Spark integer type; padded
# with zeros to one width they sort as text exactly as they do as numbers. The stream bridge's codec
# (lambda/shared/cdc.ts) takes at most 64 digits; anything else is refused, never padded and
# compared as text out of order.
_SEQUENCE_WIDTH = 64
_EVENTS = ("INSERT", "MODIFY", "REMOVE")
# latest_changes keeps each record whole in this column (lake names start with a letter, so no
# column of a dataset can take this name, nor clash with a change record's own fields).
_CHANGE = "_change"
_PLAIN_SPARK_TYPES: dict[str, DataType] = {"string": StringType(), "int": IntegerType(), "bigint": LongType(), "boolean": BooleanType(), "timestamp": TimestampType()}


def _spark_type(column: DatasetColumn) -> DataType:
    decimal = column.decimal
    return DecimalType(*decimal) if decimal is not None else _PLAIN_SPARK_TYPES[column.type]


def lake_schema(dataset: Dataset) -> StructType:
    """The lake table of `dataset`: its columns in order, then the partition column (a day, as text)."""
    fields = [StructField(column.name, _spark_type(column), True) for column in dataset.columns]
    return StructType([*fields, StructField(dataset.partition.column, StringType(), True)])


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


def _cast(column: Column, dtype: DataType, target: str, empty_is_null: bool = False) -> Column:
    """`column` (of type `dtype`) as `target`. A struct is a Glue choice, made by
    resolveChoice(make_struct) when records disagree on a field's JSON type (6 and "6"): one member
    per type, each converted on its own, the first non-null one wins. With `empty_is_null`, an
    empty string member is a null."""
    if isinstance(dtype, StructType):
        return F.coalesce(*(_cast(column[field.name], field.dataType, target, empty_is_null) for field in dtype.fields))
    return _emptied(column, dtype, empty_is_null).cast(target)


def _emptied(member: Column, dtype: DataType, empty_is_null: bool) -> Column:
    """An empty string as a null, for a column whose description says emptyIsNull."""
    if empty_is_null and isinstance(dtype, StringType):
        return F.when(member == "", F.lit(None)).otherwise(member)
    return member


def _members(column: Column, dtype: DataType, empty_is_null: bool = False) -> list[tuple[Column, DataType]]:
    """The values a field holds: one, or one per member of a Glue choice (a struct, see _cast)."""
    if isinstance(dtype, StructType):
        return [(_emptied(column[field.name], field.dataType, empty_is_null), field.dataType) for field in dtype.fields]
    return [(_emptied(column, dtype, empty_is_null), dtype)]


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


class _Conversion(NamedTuple):
    """An attribute converted to its column's type: the value, whether it is the attribute's value
    exactly (None: every value converts), and what is wrong with it when not."""

    value: Column
    ok: Column | None = None
    problem: Column | None = None

    def checked(self, what: Column) -> Column:
        if self.ok is None or self.problem is None:
            return self.value
        return _checked(self.value, self.ok, what, self.problem)


_INT_BOUNDS = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


def _whole(column: Column, dtype: DataType, target: str, label: str, empty_is_null: bool = False) -> _Conversion:
    """A whole number (6, "6", 6.0) as `target`; a fraction, a boolean, text that is no number or a
    number out of range fails the run (a plain cast would truncate 6.5 to 6, or give a null)."""
    low, high = _INT_BOUNDS[target]
    values, oks = [], []
    for member, member_type in _members(column, dtype, empty_is_null):
        if isinstance(member_type, BooleanType):
            oks.append(member.isNull())
            continue
        exact = member.cast(DecimalType(38, 9))
        oks.append(member.isNull() | (exact.isNotNull() & (exact == F.floor(exact)) & exact.between(low, high)))
        values.append(exact.cast(target))
    value = F.coalesce(*values) if values else F.lit(None).cast(target)
    return _Conversion(value, _all(oks), F.concat(F.lit(f"{label} "), _written(column, dtype), F.lit(" is not a whole number")))


def _boolean(column: Column, dtype: DataType, label: str) -> _Conversion:
    """A JSON boolean; anything else ("true" as text, 1, null) fails the run, as in the twin."""
    booleans = [member for member, member_type in _members(column, dtype) if isinstance(member_type, BooleanType)]
    value = F.coalesce(*booleans) if booleans else F.lit(None).cast("boolean")
    return _Conversion(value, value.isNotNull(), F.concat(F.lit(f"{label} "), _written(column, dtype), F.lit(" is not a boolean")))


def _decimal(column: Column, dtype: DataType, precision: int, scale: int, label: str, empty_is_null: bool = False) -> _Conversion:
    """A number as DECIMAL(precision, scale), exactly; a value it would round or cannot hold fails
    the run rather than reach the lake changed."""
    target = DecimalType(precision, scale)
    # Text, integers and decimals are compared with the column's value at 18 decimals (or at the
    # column's scale, if greater), as far as 38 digits leave room for the column's integer digits.
    compared = DecimalType(38, min(max(18, scale), 38 - (precision - scale)))
    values, oks = [], []
    for member, member_type in _members(column, dtype, empty_is_null):
        if isinstance(member_type, BooleanType):
            oks.append(member.isNull())
            continue
        number = member.cast(target)
        if isinstance(member_type, DoubleType):
            # A JSON number the reader parsed as binary: accepted when the decimal it gives casts
            # back to the same double. Spark casts a double to a decimal through Double.toString,
            # rounded half up to the scale; a decimal to a double is correctly rounded. A number
            # written with at most `scale` decimals and at most 15 significant digits is read as
            # the double nearest it, and Double.toString of that double is the number again, but
            # for digits far below the last place (Java 17's is not always the shortest string,
            # JDK-4511638): the cast recovers the number exactly and casting back gives the same
            # double. A number with a non-zero digit past the scale is rounded to another decimal,
            # whose double differs: refused. (The 6-decimal comparison this replaces held only
            # for DECIMAL(12,3).)
            if precision > 15:
                # Past 15 significant digits a double no longer identifies the decimal written
                # (12345678901234567.89 reads as the double of 12345678901234568, which casts back
                # to itself), and Java 17's extra digits reach the scale (282879384806159000.0 is
                # "2.82879384806159008E17"). So the double must be the nearest one to a decimal
                # of at most 15 significant digits, and that decimal, its rounding to 15 digits,
                # is the value. Larger numbers can come as text, which converts exactly.
                fifteen_digits = F.format_string("%.14e", member)
                number = fifteen_digits.cast(target)
                fits = number.isNotNull() & (number.cast("double") == member) & (fifteen_digits.cast("double") == member)
            else:
                fits = number.isNotNull() & (number.cast("double") == member)
        else:
            fits = number.isNotNull() & (member.cast(compared) == number)
            if isinstance(member_type, StringType):
                # Decimals past the compared scale are rounded away by that cast too: plain text
                # with a non-zero digit past the column's scale does not fit, however far out (as
                # in the twin).
                fits = fits & ~member.rlike(rf"^\s*[+-]?[0-9]*\.[0-9]{{{scale}}}[0-9]*[1-9][0-9]*\s*$")
        oks.append(member.isNull() | fits)
        values.append(number)
    value = F.coalesce(*values) if values else F.lit(None).cast(target)
    return _Conversion(value, _all(oks), F.concat(F.lit(f"{label} "), _written(column, dtype), F.lit(f" does not fit DECIMAL({precision},{scale}) exactly")))


def _timestamp(column: Column, dtype: DataType, pattern: str, label: str, empty_is_null: bool = False) -> _Conversion:
    """Text in the form `pattern` (a Spark datetime pattern) as a timestamp; other text fails the run."""
    text = _cast(column, dtype, "string", empty_is_null)
    value = F.to_timestamp(text, pattern)
    problem = F.concat(F.lit(f"{label} "), F.coalesce(text, F.lit("null")), F.lit(f" is not a time in the form {timestamp_format_display(pattern)}"))
    return _Conversion(value, text.isNull() | value.isNotNull(), problem)


def _convert(column: DatasetColumn, attribute: tuple[Column, DataType], label: str) -> _Conversion:
    """The attribute (a column and its type, see _attr) converted as `column` says; `label` names
    the attribute in messages."""
    value, dtype = attribute
    decimal = column.decimal
    if decimal is not None:
        return _decimal(value, dtype, *decimal, label, column.empty_is_null)
    if column.type in _INT_BOUNDS:
        return _whole(value, dtype, column.type, label, column.empty_is_null)
    if column.type == "boolean":
        return _boolean(value, dtype, label)
    if column.type == "timestamp":
        return _timestamp(value, dtype, column.format, label, column.empty_is_null)
    return _Conversion(_cast(value, dtype, "string", column.empty_is_null))


def _what(dataset: Dataset, keys: list[tuple[Column, DataType]]) -> Column:
    """What messages name a record by: `<dataset> change <key>/<key>: ` (`?` for a missing key)."""
    texts = [F.coalesce(_cast(column, dtype, "string"), F.lit("?")) for column, dtype in keys]
    parts = [F.lit(f"{dataset.name} change "), texts[0]]
    for text in texts[1:]:
        parts += [F.lit("/"), text]
    return F.concat(*parts, F.lit(": "))


_DAY_FORM = "YYYY-MM-DD"


def curated_rows(dataset: Dataset, items: DataFrame, image: str | None = None) -> DataFrame:
    """Items of `dataset` as rows of its lake table (lake_schema): from top-level columns (an
    export), or from the struct column `image` of change records. Numbers may come as text or as
    JSON numbers; both convert exactly. A value the lake cannot hold as written fails the run,
    naming the record, the attribute and the value."""

    def attribute(name: str) -> tuple[Column, DataType]:
        return _attr(items, image, name)

    what = _what(dataset, [attribute(name) for name in dataset.key])
    columns = [_convert(column, attribute(column.attribute), column.attribute).checked(what).alias(column.name) for column in dataset.columns]
    partition = dataset.partition
    day = _cast(*attribute(partition.attribute), "string")
    real_day = F.coalesce(day.rlike("^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & F.to_date(day, "yyyy-MM-dd").isNotNull(), F.lit(False))
    problem = F.concat(F.lit(f"{partition.attribute} "), F.coalesce(day, F.lit("null")), F.lit(f" is not a day in the form {_DAY_FORM}"))
    return items.select(*columns, _checked(day, real_day, what, problem).alias(partition.column))


def touched_days(dataset: Dataset, changes: DataFrame) -> list[str]:
    """The partitions a batch of change records may change: the days of every new and old image,
    since a MODIFY can move a row between days, and every record counts, not just the latest of
    its key, so a key changed twice is found in whatever partition the lake holds it."""
    attribute = dataset.partition.attribute
    new_day = _cast(*_attr(changes, "newImage", attribute), "string")
    old_day = _cast(*_attr(changes, "oldImage", attribute), "string")
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
            raise ValueError(f"a change record's {attribute} {json.dumps(day)} is not a day in the form {_DAY_FORM}")
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


def latest_changes(dataset: Dataset, changes: DataFrame) -> DataFrame:
    """The last change of each key: the key as columns (named as the lake names them, converted
    from the record's `keys` as the columns are, so 6.5 is no key 6), and the record whole, as the
    struct column _CHANGE. The greatest sequence number wins, compared as an integer; a tie, which
    DynamoDB never produces, goes to the record read later. Input order does not matter otherwise
    (retried batches and parallel shards arrive out of order). A record without a key value fails
    the run: records without one are not one key."""
    key_columns = dataset.key_columns
    keys = [_attr(changes, "keys", column.attribute) for column in key_columns]
    what = _what(dataset, keys)
    present = _all([_cast(*key, "string", column.empty_is_null).isNotNull() for column, key in zip(key_columns, keys)])
    keyless = F.lit(f"a change record has no {' or '.join(f'keys.{attribute}' for attribute in dataset.key)}")
    names = [column.name for column in key_columns]
    keyed = changes.select(
        *(_checked(_convert(column, key, f"keys.{column.attribute}").checked(what), present, what, keyless).alias(column.name) for column, key in zip(key_columns, keys)),
        F.struct(*(changes[name] for name in changes.columns)).alias(_CHANGE),
        # Checked here, where every record's is computed to sort them (see _ordered_sequence).
        _ordered_sequence(changes, what).alias("_sequence"),
        F.monotonically_increasing_id().alias("_read_order"),
    )
    newest_first = Window.partitionBy(*names).orderBy(F.col("_sequence").desc(), F.col("_read_order").desc())
    return keyed.withColumn("_rank", F.row_number().over(newest_first)).where(F.col("_rank") == 1).select(*names, _CHANGE)


def transform_cdc(dataset: Dataset, changes: DataFrame, current: DataFrame) -> tuple[DataFrame, list[str]]:
    """Merges a batch of change records of `dataset` into its lake table `current`.

    Returns the new content of the touched partitions and the list of those partitions. The
    caller overwrites each of them and deletes those the result leaves empty: a dynamic partition
    overwrite leaves alone a partition it writes no row to.
    """
    days = touched_days(dataset, changes)
    latest = latest_changes(dataset, changes)
    upserts = curated_rows(dataset, latest.where(F.col(_CHANGE)["eventName"] != "REMOVE").select(f"{_CHANGE}.*"), "newImage")
    # Every key of the batch leaves its old partition; the upserts put the live ones back, in the
    # partition of their new image.
    key = [column.name for column in dataset.key_columns]
    kept = current.where(F.col(dataset.partition.column).isin(days)).join(latest.select(*key), key, "left_anti")
    return kept.unionByName(upserts), days


def _write(rows: DataFrame, table: str, partition: str, overwrite_mode: str) -> None:
    # One task per day: one Parquet file per partition, not one per input split.
    (
        rows.repartition(partition)
        .write.mode("overwrite")
        .option("partitionOverwriteMode", overwrite_mode)
        .partitionBy(partition)
        .parquet(table)
    )


def _newest_change(changes: DataFrame) -> float | None:
    """The creation time (epoch seconds) of the newest change record. A batch whose times mix whole
    and fractional seconds reads as a struct of one member per JSON type (make_struct)."""
    field = changes.schema["approximateCreationTime"].dataType
    members = [F.col(f"approximateCreationTime.{member.name}").cast("double") for member in field.fields] if isinstance(field, StructType) else [F.col("approximateCreationTime").cast("double")]
    [newest] = changes.agg(F.max(F.greatest(*members) if len(members) > 1 else members[0])).first()
    return None if newest is None else float(newest)


def _merge(glue_context, spark: SparkSession, dataset: Dataset, paths: list[str], table: str) -> dict[str, float]:
    """Merges the change objects at `paths` into their partitions; returns the run's figures
    (with `newest`, the newest change's creation time, when there was a record)."""
    source = glue_context.create_dynamic_frame.from_options(connection_type="s3", connection_options={"paths": paths}, format="json")
    # A field seen with several JSON types becomes a struct of one member per type, which
    # curated_rows converts member by member, never through a lossy common type.
    changes = source.resolveChoice(choice="make_struct").toDF()
    if not changes.columns:
        return {}  # the new objects hold no record
    schema = lake_schema(dataset)
    current = spark.read.schema(schema).parquet(table) if path_exists(spark, table) else spark.createDataFrame([], schema)
    rows, days = transform_cdc(dataset, changes, current)
    partition = dataset.partition.column
    # Counted before the write replaces the partitions they read.
    events = latest_changes(dataset, changes).groupBy(F.col(_CHANGE)["eventName"].alias("event")).count().collect()
    removed = sum(row["count"] for row in events if row["event"] == "REMOVE")
    figures: dict[str, float] = {
        "RowsRead": current.where(F.col(partition).isin(days)).count(),
        "RowsUpserted": sum(row["count"] for row in events) - removed,
        "RowsRemoved": removed,
        "PartitionsRewritten": len(days),
    }
    newest = _newest_change(changes)
    rows = rows.persist()
    written = {row[partition]: row["count"] for row in rows.groupBy(partition).count().collect()}
    figures["RowsWritten"] = sum(written.values())
    _write(rows, table, partition, "dynamic")
    delete_partitions(spark, table, partition, [day for day in days if day not in written])
    rows.unpersist()
    return figures if newest is None else {**figures, "newest": newest}


def _incremental(glue_context, spark: SparkSession, dataset: Dataset, args: dict[str, str], table: str) -> dict[str, float]:
    """Merges the change objects not merged yet; returns the run's figures once its state is saved."""
    landing = args["LANDING_BUCKET"]
    pending = pending_changes(spark, dataset.job, landing, args["LAKE_BUCKET"], args["STATE_PREFIX"], [args["CDC_PREFIX"]])
    [change] = pending.changes
    figures: dict[str, float] = {"ChangeObjectsMerged": len(change.new), "RowsRead": 0, "RowsUpserted": 0, "RowsRemoved": 0, "RowsWritten": 0, "PartitionsRewritten": 0}
    if change.new:
        figures.update(_merge(glue_context, spark, dataset, [f"s3://{landing}/{key}" for key in change.new], table))
        print(f"merged {len(change.new)} new change object{'' if len(change.new) == 1 else 's'} of {change.source} ({len(change.merged & set(change.listed))} merged before)")
    else:
        print(f"no new change objects in {change.source} since the last run ({len(change.listed)} merged before): nothing to do")
    # Only now that the partitions are in place: a crash before this line re-merges `change.new`.
    pending.save()
    newest = figures.pop("newest", None)
    figures["LakeFreshnessSeconds"] = lake_freshness_seconds(newest, time.time())
    return figures


def _backfill(glue_context, dataset: Dataset, args: dict[str, str], table: str) -> dict[str, float]:
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
    partition = dataset.partition.column
    rows = curated_rows(dataset, items.resolveChoice(choice="make_struct").toDF()).persist()
    # Every item converted (a refused one fails the run here) before the static overwrite deletes
    # the old table: a bad item never leaves the lake empty.
    written = rows.count()
    partitions = rows.select(partition).distinct().count()
    _write(rows, table, partition, "static")
    rows.unpersist()
    print(f"backfill: read {written} items from the DynamoDB export of {args['SOURCE_TABLE_ARN']}, wrote {written} rows (= items read) in {partitions} partitions")
    # A rebuild merges no change object: it says nothing of freshness, so it publishes none.
    return {"RowsRead": written, "RowsWritten": written, "PartitionsRewritten": partitions}


def main() -> None:
    started = time.monotonic()
    args, glue_context, spark, job = start_glue_job(sys.argv, ARGUMENTS)
    # The whole description travels in this argument, on every run: keep descriptions small. Glue
    # refuses job arguments past 260 KB in all ("Job arguments have a maximum size limit of 260KB",
    # https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html).
    dataset = parse_dataset(args["DATASET"])
    if args["MODE"] not in ("incremental", "backfill"):
        raise ValueError(f"MODE must be incremental or backfill, not {args['MODE']!r}")
    table = s3_path(args["LAKE_BUCKET"], args["CURATED_PREFIX"])
    if args["MODE"] == "incremental":
        figures = _incremental(glue_context, spark, dataset, args, table)
    else:
        figures = _backfill(glue_context, dataset, args, table)
    job.commit()
    # After the commit: the figures describe output that is in place.
    publish_job_metrics(args["METRICS_NAMESPACE"], dataset.job, dataset.name, {**figures, "RunDurationSeconds": round(time.monotonic() - started, 3)})


if __name__ == "__main__":
    main()
