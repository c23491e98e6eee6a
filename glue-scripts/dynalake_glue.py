"""Pure decisions shared by the dynalake Glue jobs.

Standard library only: shipped to Glue with --extra-py-files, imported by every job, and unit
tested without Spark. Where the TypeScript side has a twin (lambda/shared/row-id.ts for row ids,
scripts/local/glue/duckdb.ts for the star keys), the rules here are the same rules, character for
character, so every path agrees on ids and keys.
"""

from __future__ import annotations

import json
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

# The eight columns of the Kaggle "E-Commerce Data" file, in the order row_id hashes them.
ORDER_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")

# Spark DecimalType(12, 3) holds every UnitPrice of the file (0.001 ... 38970, -11062.06).
UNIT_PRICE_PRECISION = (12, 3)
# quantity × unit_price: |80995 × 38970| < 10^11, so 11 integer digits and the price's 3 decimals.
AMOUNT_PRECISION = (14, 3)

# The curated orders table, partition column last. A DDL string (not a pyspark StructType) so this
# module stays pure; Spark takes it in .schema() and createDataFrame().
CURATED_ORDERS_DDL = (
    "invoice_no STRING, line_no INT, stock_code STRING, description STRING, quantity INT, "
    f"unit_price DECIMAL({UNIT_PRICE_PRECISION[0]},{UNIT_PRICE_PRECISION[1]}), invoice_ts TIMESTAMP, "
    "customer_id BIGINT, country STRING, is_cancellation BOOLEAN, invoice_day STRING"
)

# Every job sets these. Invoice times are wall-clock times with no zone; read and written as UTC
# they come back unchanged in every reader (Athena, DuckDB). INT96 timestamps are deprecated.
SPARK_SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}

# What JavaScript's String.prototype.trim removes (WhiteSpace and LineTerminator, with every Zs
# character), because the TypeScript twins trim with it. Python's str.strip differs: it also
# strips \x1c-\x1f and \x85, and keeps \ufeff.
_JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNIT_SEPARATOR = "\x1f"
# Hadoop reads these as glob syntax in a path; a backslash makes them literal.
_GLOB_CHARACTERS = re.compile(r"([\\*?\[\]{}])")

def js_trim(text: str) -> str:
    """`text` without surrounding whitespace, as JavaScript's `trim()` defines it."""
    return text.strip(_JS_WHITESPACE)


def normalized_row(row: Mapping[str, str | None]) -> dict[str, str]:
    """The eight order columns as row_id sees them: None (or absent) → empty, every value trimmed
    except Description, which is kept as written (its spaces are part of the product's text)."""
    values: dict[str, str] = {}
    for column in ORDER_COLUMNS:
        value = row.get(column)
        values[column] = "" if value is None else value if column == "Description" else js_trim(value)
    return values


def row_id(row: Mapping[str, str | None]) -> str:
    """The id of a CSV row: derived from the row's own content only (never its file, position or
    load time), so the same row gets the same id on every run and exact duplicates share one.

    SHA-256 of the normalized values joined by the unit separator (which no value contains),
    hex, first 32 characters (128 bits: collisions are out of reach for any file size).
    """
    values = normalized_row(row)
    text = _UNIT_SEPARATOR.join(values[column] for column in ORDER_COLUMNS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def exact_decimal(value: object) -> Decimal:
    """A DynamoDB number as an exact Decimal, whichever way the JSON carried it.

    Text (DynamoDB's own form) and integers convert exactly. A float only comes from a reader that
    parsed a JSON number as binary; its shortest repr gives back the written decimal whenever that
    had at most 15 significant digits, which every number of the orders table has.
    """
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is a boolean, not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = js_trim(value)
        if _DECIMAL_TEXT.fullmatch(text) is None:
            raise ValueError(f"{value!r} is not a decimal number")
        number = Decimal(text)
    else:
        raise TypeError(f"{value!r} is not a number")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def exact_int(value: object) -> int:
    """A DynamoDB number that must be whole (6, "6", 6.0), as an int."""
    number = exact_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


# Star-schema keys.
#
# Surrogate keys are a hash of the dimension's name and its normalized natural key, not numbers
# from a sequence: every run, and the local DuckDB twin, derives the same key for the same product
# with no key table to read, lock or keep in step, so facts and dimensions can be rebuilt in any
# order. 53 bits (the first 8 bytes of SHA-256, shifted right by 11) keep every key exact in
# JavaScript numbers and JSON fixtures; two of 10^5 natural keys collide with odds about 10^-6.
# Key 0 is reserved for "unknown" (a hash is 0 with odds 2^-53).

UNKNOWN_KEY = 0


def _surrogate_key(dimension: str, natural_key: str) -> int:
    digest = hashlib.sha256(f"{dimension}{_UNIT_SEPARATOR}{js_trim(natural_key)}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 11


def _parse_day(day: str) -> date:
    # date.fromisoformat alone also takes 20101201 and 2010-W48-3 (Python 3.11+).
    if _DAY.fullmatch(day) is None:
        raise ValueError(f"{day!r} is not a day in the form YYYY-MM-DD")
    return date.fromisoformat(day)


def date_key(day: str) -> int:
    """`2010-12-01` → 20101201: readable, sortable, and the same as the date's own digits."""
    parsed = _parse_day(day)
    return parsed.year * 10000 + parsed.month * 100 + parsed.day


def product_key(stock_code: str) -> int:
    """Key of a product. Stock codes are compared as written (trimmed): 85123A and 85123a differ."""
    return _surrogate_key("product", stock_code)


def customer_key(customer_id: int | str | None) -> int:
    """Key of a customer; None (rows without a CustomerID) → 0, the unknown customer."""
    if customer_id is None or customer_id == "":
        return UNKNOWN_KEY
    return _surrogate_key("customer", str(exact_int(customer_id)))


def country_key(country: str | None) -> int:
    """Key of a country; None (an item without Country) → 0, the unknown country."""
    if country is None or js_trim(country) == "":
        return UNKNOWN_KEY
    return _surrogate_key("country", country)


def s3_path(bucket: str, prefix: str) -> str:
    """`s3://bucket/prefix/` with exactly one slash between parts and a trailing slash, whether
    the prefix was passed as `curated/orders`, `curated/orders/` or `/curated/orders/`."""
    folder = prefix.strip("/")
    return f"s3://{bucket}/{folder}/" if folder else f"s3://{bucket}/"


def literal_path(path: str) -> str:
    """`path` with Hadoop glob characters escaped, so an uploaded `sales [2011].csv` is read as
    that one file rather than as a pattern."""
    return _GLOB_CHARACTERS.sub(r"\\\1", path)


def start_glue_job(argv: list[str], arguments: list[str]) -> tuple[dict[str, str], Any, Any, Any]:
    """What every job does first: read its arguments, create the Glue and Spark contexts with the
    session settings above, and init the job. The jobs keep their own state (see below), no bookmarks.

    Returns (args, glue_context, spark, job). awsglue exists only on Glue, so it is imported here:
    this module stays importable, and tested, with the standard library alone.
    """
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(argv, arguments)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    for name, value in SPARK_SQL_CONF.items():
        spark.conf.set(name, value)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    return args, glue_context, spark, job


# Per-run figures: each job publishes them with PutMetricData once its output and state are
# committed, to the namespace of its METRICS_NAMESPACE argument, with the dimensions `service` (the
# job) and `dataset`, as the bridges do (lambda/shared/metrics.ts JOB_METRICS names the same
# metrics). The job's role may put metrics in that namespace only (the cloudwatch:namespace
# condition of lib/constructs/lake-job.ts).
JOB_METRIC_UNITS = {
    "ChangeObjectsMerged": "Count",
    "RowsRead": "Count",
    "RowsUpserted": "Count",
    "RowsRemoved": "Count",
    "RowsWritten": "Count",
    "PartitionsRewritten": "Count",
    "RunDurationSeconds": "Seconds",
    "LakeFreshnessSeconds": "Seconds",
}


def job_metric_data(job: str, dataset: str, figures: Mapping[str, float]) -> list[dict[str, Any]]:
    """The MetricData of one run's figures, each by its unit in JOB_METRIC_UNITS."""
    unknown = sorted(set(figures) - set(JOB_METRIC_UNITS))
    if unknown:
        raise ValueError(f"no job metric {', '.join(unknown)}: one of {', '.join(JOB_METRIC_UNITS)}")
    dimensions = [{"Name": "service", "Value": job}, {"Name": "dataset", "Value": dataset}]
    return [{"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": JOB_METRIC_UNITS[name]} for name, value in figures.items()]


def publish_job_metrics(namespace: str, job: str, dataset: str, figures: Mapping[str, float], client: Any = None) -> None:
    """One PutMetricData call with the run's figures (at most 1,000 values per call, far above ours:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html)."""
    if client is None:
        import boto3

        client = boto3.client("cloudwatch")
    client.put_metric_data(Namespace=namespace, MetricData=job_metric_data(job, dataset, figures))


def lake_freshness_seconds(newest_change: float | None, now: float) -> float:
    """How old the newest change merged was when the run committed it; 0 when the run found
    nothing new: no change was waiting, so the lake held every change there was."""
    return 0.0 if newest_change is None else max(0.0, now - newest_change)


# Incremental state: which change objects a job has merged.
#
# The jobs keep their own state instead of Glue job bookmarks, which go by S3 modification time
# with a 15-minute band, fail under concurrent runs, and cannot run locally. One small JSON object
# per job in the lake bucket lists, per change source (`s3://bucket/prefix/`), the keys of the
# objects already merged. It is written only after the job's output is in place: a crash before
# it re-merges the same objects (harmless: latest change wins), and nothing is ever skipped.
# Change object keys are pure functions of their batch and written once (If-None-Match), so a key
# names one content for good. Keys that are no longer listed (cdc/ expiry) leave the state, so it
# stays as small as the change history S3 keeps. The DuckDB twins read and write the same object
# (scripts/local/glue/state.ts).

STATE_FORMAT = 1
STATE_OBJECT = "merged.json"
# What the stream bridge writes under a CDC prefix (lambda/shared/cdc.ts); nothing else there is a change object.
CHANGE_OBJECT_SUFFIX = ".jsonl.gz"


def _key_under(prefix: str, name: str) -> str:
    """The key of object `name` under a prefix, however its slashes are written."""
    folder = prefix.strip("/")
    return f"{folder}/{name}" if folder else name


def state_key(state_prefix: str) -> str:
    """The key of a job's state object under its STATE_PREFIX (`state/orders_to_lake/`)."""
    return _key_under(state_prefix, STATE_OBJECT)


def parse_state(text: str | None, job: str, where: str) -> dict[str, set[str]]:
    """The merged keys per source of a state object's text (None: no state yet, nothing merged).

    A state that is not this job's, or not this format, is an error naming `where`: silently
    starting over would merge the whole history again, silently keeping it would skip changes.
    """
    if text is None:
        return {}
    try:
        state = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: the state object is not JSON ({error}); delete it to merge the whole change history again") from error
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("job") != job or not isinstance(state.get("sources"), dict):
        raise ValueError(f"{where}: not a format-{STATE_FORMAT} state object of {job}; delete it to merge the whole change history again")
    merged: dict[str, set[str]] = {}
    for source, keys in state["sources"].items():
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise ValueError(f"{where}: sources[{source!r}] is not a list of object keys")
        merged[source] = set(keys)
    return merged


def pending_keys(listed: Iterable[str], merged: set[str]) -> list[str]:
    """The listed change objects not merged yet, sorted (the read order that settles ties)."""
    return sorted(set(listed) - merged)


def next_state(listed: Iterable[str], merged: set[str], new: Iterable[str]) -> list[str]:
    """What the state holds for a source after a run: the objects merged before that S3 still
    lists, and this run's."""
    listed_set = set(listed)
    return sorted((merged & listed_set) | set(new))


def render_state(job: str, sources: Mapping[str, Iterable[str]], updated_at: str) -> str:
    """A state object's text: stable (sorted) so an unchanged state is the same bytes."""
    state = {"format": STATE_FORMAT, "job": job, "sources": {source: sorted(keys) for source, keys in sorted(sources.items())}, "updatedAt": updated_at}
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


# The star schema's build state (scripts/local/glue/sales-star-schema.ts is the twins' side): which
# curated orders it was last built from, as a fingerprint of their listing, so that a run whose
# orders did not change reads and writes nothing.
BUILD_STATE_FORMAT = 1
BUILD_STATE_OBJECT = "built.json"
BUILD_STATE_JOB = "sales_star_schema"


def build_state_key(state_prefix: str) -> str:
    """The key of the build state under a STATE_PREFIX (`state/sales_star_schema/`)."""
    return _key_under(state_prefix, BUILD_STATE_OBJECT)


def listing_fingerprint(entries: Iterable[Iterable[str]]) -> str:
    """sha256 over one line per listed object, its fields joined by tabs, in the order given."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(("\t".join(entry) + "\n").encode("utf-8"))
    return digest.hexdigest()


def parse_build_state(text: str, where: str) -> dict[str, Any]:
    """The curated orders of the last build ({source, objects, fingerprint}) from a build state's
    text; another job's or format's state is an error naming `where`."""
    try:
        state = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: the build state is not JSON ({error}); delete it to rebuild the star schema") from error
    built_from = state.get("curatedOrders") if isinstance(state, dict) else None
    if (
        not isinstance(state, dict)
        or state.get("format") != BUILD_STATE_FORMAT
        or state.get("job") != BUILD_STATE_JOB
        or not isinstance(built_from, dict)
        or not isinstance(built_from.get("source"), str)
        or type(built_from.get("objects")) is not int
        or not isinstance(built_from.get("fingerprint"), str)
    ):
        raise ValueError(f"{where}: not a format-{BUILD_STATE_FORMAT} build state of {BUILD_STATE_JOB}; delete it to rebuild the star schema")
    return {"source": built_from["source"], "objects": built_from["objects"], "fingerprint": built_from["fingerprint"]}


def render_build_state(source: str, objects: int, fingerprint: str, built_at: str) -> str:
    """A build state's text, as the twin renders it."""
    state = {"builtAt": built_at, "curatedOrders": {"fingerprint": fingerprint, "objects": objects, "source": source}, "format": BUILD_STATE_FORMAT, "job": BUILD_STATE_JOB}
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


# Dataset descriptions (lib/dataset.ts DatasetDescription): one DynamoDB table as one lake table,
# passed to the CDC-merge job as JSON in its DATASET argument. Parsed here, with the standard
# library only, so the parsing is tested without Spark.

PLAIN_LAKE_TYPES = ("string", "int", "bigint", "boolean", "timestamp")
DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss"
# lambda/shared/layout.ts DATASET_NAME and lib/dataset.ts LAKE_NAME.
_DATASET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LAKE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DECIMAL_TYPE = re.compile(r"decimal\(([0-9]+),([0-9]+)\)")
# The Spark datetime pattern letters a timestamp format may use, single-quoted literals and a few
# separators: enough for the forms items hold, and each shown in messages as its DISPLAY.
_FORMAT_TOKEN = re.compile(r"yyyy|MM|dd|HH|mm|ss|SSS|'[^']+'|[-/:., ]")
_FORMAT_DISPLAY = {"yyyy": "YYYY", "MM": "MM", "dd": "DD", "HH": "HH", "mm": "MM", "ss": "SS", "SSS": "SSS"}


@dataclass(frozen=True)
class DatasetColumn:
    """One lake column and the item attribute it is read from."""

    name: str
    attribute: str
    # One of PLAIN_LAKE_TYPES, or decimal(p,s).
    type: str
    # For a timestamp: the text's form, a Spark datetime pattern.
    format: str = DEFAULT_TIMESTAMP_FORMAT
    # Whether an empty string is a missing value (null) rather than bad input.
    empty_is_null: bool = False

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) of a decimal(p,s) column; None for any other type."""
        return decimal_type(self.type)


@dataclass(frozen=True)
class DatasetPartition:
    """The day partition: a string column of YYYY-MM-DD days, read from an attribute."""

    column: str
    attribute: str
    first_day: str


@dataclass(frozen=True)
class Dataset:
    """A DynamoDB table as a lake table (lib/dataset.ts DatasetDescription)."""

    name: str
    # The item key's attributes (partition key, then sort key), each read into a column.
    key: tuple[str, ...]
    columns: tuple[DatasetColumn, ...]
    partition: DatasetPartition

    @property
    def job(self) -> str:
        """The name of the dataset's CDC-merge job, and of its state object's owner."""
        return f"{self.name}_to_lake"

    @property
    def key_columns(self) -> tuple[DatasetColumn, ...]:
        """The column each key attribute is read into (the first, if several read it)."""
        return tuple(next(column for column in self.columns if column.attribute == attribute) for attribute in self.key)


def decimal_type(type_name: str) -> tuple[int, int] | None:
    """(precision, scale) of `decimal(p,s)`; None for any other type name."""
    match = _DECIMAL_TYPE.fullmatch(type_name)
    return (int(match[1]), int(match[2])) if match else None


def timestamp_format_display(pattern: str) -> str:
    """A timestamp format as messages show it: `yyyy-MM-dd'T'HH:mm:ss` → `YYYY-MM-DDTHH:MM:SS`
    (letters upper-cased as people write them, quotes removed). The format must be valid."""
    return "".join(token[1:-1] if token.startswith("'") else _FORMAT_DISPLAY.get(token, token) for token in _FORMAT_TOKEN.findall(pattern))


def _valid_format(pattern: str) -> bool:
    return pattern != "" and re.fullmatch(f"(?:{_FORMAT_TOKEN.pattern})+", pattern) is not None


def parse_dataset(text: str) -> Dataset:
    """The dataset description of a DATASET argument (JSON of lib/dataset.ts DatasetDescription).

    Every problem found is a line of the ValueError, naming the field ("DATASET argument:
    columns[2].type ..."): a job run with a description it cannot follow fails before reading
    anything. Fields the job does not use are ignored.
    """
    try:
        description = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"DATASET argument: not JSON ({error})") from error
    if not isinstance(description, dict):
        raise ValueError(f"DATASET argument: not a JSON object but {json.dumps(description)[:80]}")
    problems: list[str] = []

    def problem(field: str, message: str) -> None:
        problems.append(f"DATASET argument: {field} {message}")

    def string(holder: Mapping[str, Any], name: str, field: str) -> str | None:
        value = holder.get(name)
        if not isinstance(value, str):
            problem(field, "is missing" if value is None else f"{json.dumps(value)} is not a string")
            return None
        return value

    def attribute_name(holder: Mapping[str, Any], field: str) -> str:
        attribute = string(holder, "attribute", field)
        if attribute == "":
            problem(field, "is empty")
        return attribute or ""

    def lake_name(value: str, field: str) -> None:
        if _LAKE_NAME.fullmatch(value) is None:
            problem(field, f"{json.dumps(value)} is not lowercase letters, digits and underscores starting with a letter")

    name = string(description, "name", "name")
    if name is not None and _DATASET_NAME.fullmatch(name) is None:
        problem("name", f"{json.dumps(name)} is not letters, digits and underscores starting with a letter")

    columns: list[DatasetColumn] = []
    raw_columns = description.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        problem("columns", "is not a non-empty list of columns")
        raw_columns = []
    for index, raw in enumerate(raw_columns):
        field = f"columns[{index}]"
        if not isinstance(raw, dict):
            problem(field, "is not an object")
            continue
        column_name = string(raw, "name", f"{field}.name")
        if column_name is not None:
            lake_name(column_name, f"{field}.name")
            if any(column.name == column_name for column in columns):
                problem(f"{field}.name", f"{json.dumps(column_name)} is a second column of that name")
        attribute = attribute_name(raw, f"{field}.attribute")
        type_name = string(raw, "type", f"{field}.type")
        decimal = None if type_name is None else decimal_type(type_name)
        if decimal is not None:
            precision, scale = decimal
            if not 1 <= precision <= 38 or scale > precision:
                problem(f"{field}.type", f"{type_name} needs a precision of 1 to 38 and a scale no greater than it")
        elif type_name is not None and type_name not in PLAIN_LAKE_TYPES:
            problem(f"{field}.type", f"{json.dumps(raw['type'])} is not one of {', '.join(PLAIN_LAKE_TYPES)}, decimal(p,s)")
        pattern = DEFAULT_TIMESTAMP_FORMAT
        if "format" in raw:
            if type_name != "timestamp":
                problem(f"{field}.format", f"is for timestamp columns, not {type_name or 'this one'}")
            elif not isinstance(raw["format"], str) or not _valid_format(raw["format"]):
                problem(
                    f"{field}.format",
                    f"{json.dumps(raw['format'])} is not a datetime pattern of yyyy MM dd HH mm ss SSS, single-quoted text and - / : . , or space",
                )
            else:
                pattern = raw["format"]
        empty_is_null = raw.get("emptyIsNull", False)
        if not isinstance(empty_is_null, bool):
            problem(f"{field}.emptyIsNull", f"{json.dumps(empty_is_null)} is not true or false")
            empty_is_null = False
        columns.append(DatasetColumn(column_name or "", attribute, type_name or "", pattern, empty_is_null))

    key = description.get("key")
    if not isinstance(key, list) or not 1 <= len(key) <= 2 or not all(isinstance(attribute, str) for attribute in key):
        problem("key", f"{json.dumps(key)} is not a list of 1 or 2 attribute names (partition key, then sort key)")
        key = []
    elif len(set(key)) != len(key):
        problem("key", f"{json.dumps(key)} names an attribute twice")
    for index, attribute in enumerate(key if columns else []):
        if not any(column.attribute == attribute for column in columns):
            problem(f"key[{index}]", f"{json.dumps(attribute)} is read into no column: the lake could not tell two items apart")

    raw_partition = description.get("partition")
    partition = None
    if isinstance(raw_partition, dict):
        partition_column = string(raw_partition, "column", "partition.column")
        if partition_column is not None:
            lake_name(partition_column, "partition.column")
            if any(column.name == partition_column for column in columns):
                problem("partition.column", f"{json.dumps(partition_column)} is also a column")
        partition_attribute = attribute_name(raw_partition, "partition.attribute")
        first_day = string(raw_partition, "firstDay", "partition.firstDay")
        if first_day is not None:
            try:
                _parse_day(first_day)
            except ValueError:
                problem("partition.firstDay", f"{json.dumps(first_day)} is not a day in the form YYYY-MM-DD")
        partition = DatasetPartition(partition_column or "", partition_attribute, first_day or "")
    else:
        problem("partition", "is not an object with column, attribute and firstDay")

    if problems or partition is None:
        raise ValueError("\n".join(problems))
    return Dataset(name or "", tuple(key), tuple(columns), partition)


# S3 through Hadoop's FileSystem, as Spark itself reaches it (EMRFS on Glue). These take the
# job's SparkSession; they import nothing, so this module stays importable without Spark.


def _hadoop_path(spark: Any, url: str) -> tuple[Any, Any]:
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(url)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def path_exists(spark: Any, url: str) -> bool:
    """Whether anything is at `url` (an object, or objects under it as a folder)."""
    path, fs = _hadoop_path(spark, url)
    return bool(fs.exists(path))


def delete_partitions(spark: Any, table: str, column: str, values: Iterable[str]) -> None:
    """Deletes the partition folders `<table><column>=<value>/` (a dynamic partition overwrite
    leaves alone a partition it writes no row to, so an emptied one must go by hand)."""
    for value in values:
        path, fs = _hadoop_path(spark, f"{table}{column}={value}")
        fs.delete(path, True)


def list_objects(spark: Any, bucket: str, prefix: str, suffix: str = "") -> list[tuple[str, int, int]]:
    """(key, size, modification time in ms) of the objects under `prefix` (all depths) that end
    with `suffix`, sorted by key."""
    root = s3_path(bucket, prefix)
    if not path_exists(spark, root):
        return []
    path, fs = _hadoop_path(spark, root)
    objects = []
    files = fs.listFiles(path, True)
    bucket_root = f"s3://{bucket}/"
    while files.hasNext():
        status = files.next()
        url = status.getPath().toString()
        if not url.startswith(bucket_root):
            raise ValueError(f"listing {root} gave {url}, which is not in s3://{bucket}/")
        key = url[len(bucket_root) :]
        if key.endswith(suffix):
            objects.append((key, int(status.getLen()), int(status.getModificationTime())))
    return sorted(objects)


def list_keys(spark: Any, bucket: str, prefix: str, suffix: str = "") -> list[str]:
    """The keys of the objects under `prefix` (all depths) that end with `suffix`, sorted."""
    return [key for key, _size, _modified in list_objects(spark, bucket, prefix, suffix)]


def read_text_object(spark: Any, bucket: str, key: str) -> str | None:
    """An object's text (UTF-8), or None when there is no such object."""
    if not path_exists(spark, f"s3://{bucket}/{key}"):
        return None
    return spark.read.text(literal_path(f"s3://{bucket}/{key}"), wholetext=True).first()[0]


def write_bytes_object(spark: Any, bucket: str, key: str, body: bytes) -> None:
    """Writes (or replaces) an object with `body`."""
    path, fs = _hadoop_path(spark, f"s3://{bucket}/{key}")
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(body))
    finally:
        stream.close()


def delete_object(spark: Any, bucket: str, key: str) -> None:
    """Deletes an object (nothing to do when there is none)."""
    path, fs = _hadoop_path(spark, f"s3://{bucket}/{key}")
    fs.delete(path, False)


def write_text_object(spark: Any, bucket: str, key: str, text: str) -> None:
    """Writes (or replaces) an object with `text` (UTF-8)."""
    write_bytes_object(spark, bucket, key, text.encode("utf-8"))


@dataclass(frozen=True)
class ChangeSource:
    """One CDC prefix of a run: `s3://bucket/prefix/`, its change objects as listed, those merged
    before, and those this run merges (in key order)."""

    source: str
    listed: list[str]
    merged: set[str]
    new: list[str]


class PendingChanges:
    """What a job has to merge (one ChangeSource per CDC prefix), and its state to save once the
    output is in place (scripts/local/glue/state.ts pendingChanges is the twins' side)."""

    def __init__(self, spark: Any, job: str, lake: str, state: str, sources: dict[str, set[str]], changes: list[ChangeSource]) -> None:
        self._spark, self._job, self._lake, self._state, self._sources = spark, job, lake, state, sources
        self.changes = changes

    def save(self) -> None:
        """Writes the state (the merged objects S3 still lists, and this run's), unless unchanged."""
        kept = {change.source: set(next_state(change.listed, change.merged, change.new)) for change in self.changes}
        if all(kept[change.source] == change.merged for change in self.changes):
            return
        self._sources.update(kept)
        write_text_object(self._spark, self._lake, self._state, render_state(self._job, self._sources, datetime.now(timezone.utc).isoformat(timespec="milliseconds")))


def pending_changes(spark: Any, job: str, landing: str, lake: str, state_prefix: str, cdc_prefixes: Iterable[str]) -> PendingChanges:
    """For each CDC prefix of `landing`, the change objects the job's state object does not list yet."""
    state = state_key(state_prefix)
    sources = parse_state(read_text_object(spark, lake, state), job, f"s3://{lake}/{state}")
    changes = []
    for prefix in cdc_prefixes:
        source = s3_path(landing, prefix)
        listed = list_keys(spark, landing, prefix, CHANGE_OBJECT_SUFFIX)
        merged = sources.get(source, set())
        changes.append(ChangeSource(source, listed, merged, pending_keys(listed, merged)))
    return PendingChanges(spark, job, lake, state, sources, changes)
