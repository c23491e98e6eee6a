"""Glue's DynamoDB export connector (`connection_type="dynamodb"`, `dynamodb.export` = `ddb`), locally.

What Glue documents (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-dynamodb-home.html):
the connector invokes DynamoDB's ExportTableToPointInTime for `dynamodb.tableArn` into
`dynamodb.s3.bucket`/`dynamodb.s3.prefix` in DynamoDB JSON, then makes a DynamicFrame by reading
the export from S3; the export stays there after the run. `dynamodb.export` is `ddb` (make a new
export) or `s3` (read a past one); `dynamodb.tableArn` is required; `dynamodb.unnestDDBJson` and
`dynamodb.simplifyDDBJson` (booleans, default false, never both) take the type descriptors away.

Here DynamoDB's part is emulated over the local DynamoDB, as scripts/local/dynamodb-export.ts
does for the DuckDB twins (the same layout, which one test checks for both): a consistent scan
written to the local S3 through boto3 in DynamoDB's documented export layout
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
`<prefix>AWSDynamoDB/<ExportId>/` holding `_started`, `data/<name>.json.gz` (one `{"Item": ...}`
per line), `manifest-files.json` and, last, `manifest-summary.json`. The local DynamoDB keeps no
history, so the point in time is now, and the table's point-in-time recovery is not checked.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pyspark import cloudpickle

# unnest_line runs in Spark's Python workers, which have no `awsglue` on their path: it travels
# by value, not as a reference to this module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

EXPORT_MODES = ("ddb", "s3")
MANIFEST_VERSION = "2020-06-30"
OUTPUT_FORMAT = "DYNAMODB_JSON"
ITEMS_PER_FILE = 100_000
_TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/([A-Za-z0-9_.-]{3,255})")


@dataclass(frozen=True)
class ExportRequest:
    """The export connector's options, checked."""

    table_arn: str
    table_name: str
    bucket: str
    prefix: str
    unnest: bool


def _boolean(options: dict[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"connection_options {name} must be a boolean (true or false), not {value!r}")


def export_request(options: dict[str, Any]) -> ExportRequest:
    """The options checked as Glue documents them; what the stand-in cannot do is refused by name."""
    mode = options.get("dynamodb.export")
    if mode is None:
        raise NotImplementedError(
            "the local stand-in reads DynamoDB only through the export connector (dynamodb.export), not the ETL connector (dynamodb.input.tableName)"
        )
    if mode not in EXPORT_MODES:
        raise ValueError(f"connection_options dynamodb.export must be ddb (a new export) or s3 (a past export), not {mode!r}")
    if mode == "s3":
        raise NotImplementedError("dynamodb.export=s3 (read a past export) is not in the local stand-in: it makes a new export (ddb)")
    table_arn = options.get("dynamodb.tableArn")
    if not table_arn:
        raise ValueError("connection_options dynamodb.tableArn is missing: the export connector needs the ARN of the table to export")
    match = _TABLE_ARN.fullmatch(str(table_arn))
    if match is None:
        raise ValueError(f"connection_options dynamodb.tableArn {table_arn!r} is not a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)")
    bucket = options.get("dynamodb.s3.bucket")
    if not bucket:
        # Glue would export to the job's --TempDir; the jobs name their bucket, and the stand-in knows no TempDir.
        raise ValueError("connection_options dynamodb.s3.bucket is missing: name the bucket the export is written to")
    if options.get("dynamodb.exportTime"):
        raise NotImplementedError("dynamodb.exportTime: the local DynamoDB keeps no history, it exports the table as it is now")
    unnest = _boolean(options, "dynamodb.unnestDDBJson")
    simplify = _boolean(options, "dynamodb.simplifyDDBJson")
    if unnest and simplify:
        raise ValueError("connection_options dynamodb.unnestDDBJson and dynamodb.simplifyDDBJson cannot both be true")
    return ExportRequest(str(table_arn), match.group(1), str(bucket), str(options.get("dynamodb.s3.prefix") or ""), unnest or simplify)


def export_folder(prefix: str) -> str:
    """`<prefix>AWSDynamoDB/`, the prefix taken as a folder: `a/b` and `a/b/` give the same keys."""
    folder = prefix.strip("/")
    return f"{folder}/AWSDynamoDB/" if folder else "AWSDynamoDB/"


def _wire_json(value: Any) -> Any:
    """A botocore attribute value as DynamoDB JSON: binary as base64."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {name: _wire_json(member) for name, member in value.items()}
    if isinstance(value, list):
        return [_wire_json(member) for member in value]
    return value


@dataclass(frozen=True)
class ExportResult:
    export_id: str
    #: The key of manifest-summary.json (DescribeExport's ExportManifest).
    export_manifest: str
    data_keys: list[str]
    item_count: int


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def export_table(dynamodb: Any, s3: Any, request: ExportRequest, items_per_file: int = ITEMS_PER_FILE, on_data_file: Callable[[str, bytes], None] | None = None) -> ExportResult:
    """The whole table exported to S3 (DynamoDB's export is asynchronous; the connector waits for
    it). `on_data_file(key, body)` sees each data file as it is written."""
    try:
        table_id = dynamodb.describe_table(TableName=request.table_name)["Table"].get("TableId")
    except dynamodb.exceptions.ResourceNotFoundException:
        raise ValueError(f"cannot export {request.table_arn}: the local DynamoDB has no table {request.table_name}") from None
    started = datetime.now(timezone.utc)
    export_id = f"{int(started.timestamp() * 1000):014d}-{secrets.token_hex(4)}"
    folder = f"{export_folder(request.prefix)}{export_id}/"

    def put(key: str, body: bytes) -> str:
        return str(s3.put_object(Bucket=request.bucket, Key=key, Body=body)["ETag"]).strip('"')

    put(f"{folder}_started", b"")
    files: list[dict[str, Any]] = []
    lines: list[str] = []

    def flush() -> None:
        body = gzip.compress("".join(lines).encode("utf-8"))
        key = f"{folder}data/{secrets.token_hex(13)}.json.gz"
        etag = put(key, body)
        if on_data_file is not None:
            on_data_file(key, body)
        files.append({"itemCount": len(lines), "md5Checksum": base64.b64encode(hashlib.md5(body).digest()).decode("ascii"), "etag": etag, "dataFileS3Key": key})  # noqa: S324 (the manifest's checksum)
        lines.clear()

    for page in dynamodb.get_paginator("scan").paginate(TableName=request.table_name, ConsistentRead=True):
        for item in page.get("Items", []):
            lines.append(json.dumps({"Item": _wire_json(item)}, ensure_ascii=False, separators=(",", ":")) + "\n")
            if len(lines) >= items_per_file:
                flush()
    if lines or not files:
        flush()  # an empty table gives one empty file, as an empty partition does

    manifest_files_key = f"{folder}manifest-files.json"
    put(manifest_files_key, "".join(json.dumps(file) + "\n" for file in files).encode("utf-8"))
    item_count = sum(file["itemCount"] for file in files)
    summary = {
        "version": MANIFEST_VERSION,
        "exportArn": f"{request.table_arn}/export/{export_id}",
        "startTime": _iso(started),
        "endTime": _iso(datetime.now(timezone.utc)),
        "tableArn": request.table_arn,
        "tableId": table_id,
        "exportTime": _iso(started),
        "s3Bucket": request.bucket,
        "s3Prefix": request.prefix or None,
        "s3SseAlgorithm": None,  # the local S3 encrypts nothing
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": manifest_files_key,
        "billedSizeBytes": 0,  # nothing is billed locally
        "itemCount": item_count,
        "outputFormat": OUTPUT_FORMAT,
    }
    export_manifest = f"{folder}manifest-summary.json"
    put(export_manifest, json.dumps(summary).encode("utf-8"))
    return ExportResult(export_id, export_manifest, [str(file["dataFileS3Key"]) for file in files], item_count)


def data_keys_of(s3: Any, bucket: str, export_manifest: str) -> list[str]:
    """The data files of a finished export, found as a reader finds them: summary, then files manifest."""
    summary = json.loads(s3.get_object(Bucket=bucket, Key=export_manifest)["Body"].read())
    listing = s3.get_object(Bucket=bucket, Key=summary["manifestFilesS3Key"])["Body"].read().decode("utf-8")
    return [json.loads(line)["dataFileS3Key"] for line in listing.splitlines() if line.strip()]


def unnest_value(value: Any) -> Any:
    """A DynamoDB JSON value without its type descriptor, in the shape AWS documents for
    simplifyDDBJson: S, N and B as strings (a number keeps its exact text), BOOL as a boolean, NULL
    as null, M as an object, L as a list, SS/NS/BS as lists of strings. AWS says unnestDDBJson does
    the same job with weaker support for maps, without saying how; maps unnest the documented way
    here (the orders table has none). scripts/local/glue/dynamodb-export-source.ts unnests alike."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"{value!r} is not a DynamoDB JSON value (one type descriptor: S, N, B, BOOL, NULL, M, L, SS, NS or BS)")
    [(kind, inner)] = value.items()
    if kind in ("S", "N", "B", "SS", "NS", "BS", "BOOL"):
        return inner
    if kind == "NULL":
        return None
    if kind == "M":
        return {name: unnest_value(member) for name, member in inner.items()}
    if kind == "L":
        return [unnest_value(member) for member in inner]
    raise ValueError(f"{kind!r} is not a DynamoDB type descriptor")


def unnest_line(record: dict[str, Any]) -> dict[str, Any]:
    """One export line (`{"Item": {...}}`) as the item's attributes, unnested."""
    item = record.get("Item")
    if not isinstance(item, dict):
        raise ValueError('a DynamoDB JSON export line is {"Item": {...}}')
    return {name: unnest_value(value) for name, value in item.items()}


def stage_for_spark(spark: Any, bucket: str, key: str, body: bytes) -> None:
    """Puts an object the export wrote through the S3 API where the job's own S3 reads see it now.

    The local runner mounts `s3://<bucket>/` on a mirror it fills before the run
    (scripts/local/spark/local_glue.py), so an object written to S3 during the run is not there
    yet: the same bytes go through Hadoop's file system to the same path. After the run the
    runner uploads them again, unchanged; on a file system that is S3 itself this is a rewrite.
    """
    jvm = spark.sparkContext._jvm
    with tempfile.NamedTemporaryFile(suffix=".json.gz", delete=False) as file:
        file.write(body)
    try:
        target = jvm.org.apache.hadoop.fs.Path(f"s3://{bucket}/{key}")
        target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(f"file://{file.name}"), target)
    finally:
        os.unlink(file.name)


def clients() -> tuple[Any, Any]:
    """The DynamoDB and S3 clients of the local runner's environment (AWS_ENDPOINT_URL_DYNAMODB and
    AWS_ENDPOINT_URL_S3 point them at the embedded services)."""
    import boto3
    from botocore.config import Config

    region = os.environ.get("AWS_REGION", "us-east-1")
    # Path-style (s3rver has no virtual hosts); checksums only where required, since s3rver would
    # store aws-chunked framing as the object's data (as local_glue.s3_client).
    config = Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required", response_checksum_validation="when_required", retries={"max_attempts": 3})
    return boto3.client("dynamodb", region_name=region), boto3.client("s3", region_name=region, config=config)
