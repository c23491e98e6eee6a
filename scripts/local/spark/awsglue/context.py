"""GlueContext: the readers and writers the dynalake jobs use."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from pyspark.context import SparkContext
from pyspark.sql import Row, SparkSession

from awsglue import _dynamodb_export
from awsglue.dynamicframe import DynamicFrame, read_json_records

# https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-dynamodb-home.html:
# "dynamodb.throughput.write.percent ... Acceptable values are from 0.1 to 1.5, inclusive."
_WRITE_PERCENT_RANGE = (0.1, 1.5)


class _DynamicFrameReader:
    def __init__(self, glue_context: GlueContext) -> None:
        self._glue_context = glue_context

    def from_options(self, connection_type: str, connection_options: dict[str, Any], format: str | None = None, transformation_ctx: str = "", **_options: Any) -> DynamicFrame:  # noqa: A002 (Glue's name)
        name = transformation_ctx or "dynamic_frame"
        if connection_type == "dynamodb":
            return self._from_dynamodb_export(connection_options, name)
        if connection_type != "s3" or format != "json":
            raise NotImplementedError(f"the local stand-in reads S3 JSON only, not connection_type={connection_type!r} format={format!r}")
        paths = list(connection_options.get("paths") or [])
        if not paths:
            raise ValueError("connection_options.paths is empty")
        spark = self._glue_context.spark_session
        existing = [path for path in paths if _exists(spark, path)]
        if not existing:
            # Glue reads an S3 prefix with no object as an empty frame, not as an error.
            return DynamicFrame(spark.createDataFrame([], "struct<>"), self._glue_context, name, ("struct", {}))
        return read_json_records(spark, existing, bool(connection_options.get("recurse", False)), name, self._glue_context)

    def _from_dynamodb_export(self, connection_options: dict[str, Any], name: str) -> DynamicFrame:
        """The export connector (awsglue/_dynamodb_export.py): a new export of the table to S3,
        read back as Glue reads it, found through its manifests, unnested when asked."""
        request = _dynamodb_export.export_request(connection_options)  # every option checked before anything is exported
        spark = self._glue_context.spark_session
        dynamodb, s3 = _dynamodb_export.clients()
        exported = _dynamodb_export.export_table(dynamodb, s3, request, on_data_file=lambda key, body: _dynamodb_export.stage_for_spark(spark, request.bucket, key, body))
        paths = [f"s3://{request.bucket}/{key}" for key in _dynamodb_export.data_keys_of(s3, request.bucket, exported.export_manifest)]
        return read_json_records(spark, paths, False, name, self._glue_context, _dynamodb_export.unnest_line if request.unnest else None)


def _exists(spark: SparkSession, path: str) -> bool:
    jvm_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return bool(jvm_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(jvm_path))


def _attribute(value: Any) -> Any:
    """A Spark value as boto3's DynamoDB resource layer takes it (numbers as Decimal)."""
    if isinstance(value, Row):
        return _attribute(value.asDict())
    if isinstance(value, dict):
        return {name: _attribute(field) for name, field in value.items() if field is not None}
    if isinstance(value, list):
        return [_attribute(item) for item in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class GlueContext:
    """`spark_session`, `create_dynamic_frame.from_options` and `write_dynamic_frame_from_options`."""

    def __init__(self, spark_context: SparkContext) -> None:
        self._spark_context = spark_context
        self.spark_session = SparkSession.builder.getOrCreate()
        self.create_dynamic_frame = _DynamicFrameReader(self)
        self._jobs: list[Any] = []
        #: Items written to DynamoDB by this context, for the local runner's report.
        self.items_written = 0

    def write_dynamic_frame_from_options(self, frame: DynamicFrame, connection_type: str, connection_options: dict[str, Any], format: str | None = None, **_options: Any) -> None:  # noqa: A002
        if connection_type != "dynamodb":
            raise NotImplementedError(f"the local stand-in writes DynamoDB only, not {connection_type!r}")
        table_name = connection_options.get("dynamodb.output.tableName")
        if not table_name:
            raise ValueError("connection_options dynamodb.output.tableName is missing")
        percent = float(connection_options.get("dynamodb.throughput.write.percent", "0.5"))
        if not _WRITE_PERCENT_RANGE[0] <= percent <= _WRITE_PERCENT_RANGE[1]:
            raise ValueError(f"dynamodb.throughput.write.percent {percent} is not between 0.1 and 1.5")
        import boto3  # the local runner's client, pointed at the embedded DynamoDB by AWS_ENDPOINT_URL_DYNAMODB

        table = boto3.resource("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1")).Table(table_name)
        written = 0
        with table.batch_writer() as batch:
            for record in frame.records().toLocalIterator():
                # AWS does not document whether Glue's DynamoDB writer leaves a null field out or
                # writes it as a NULL attribute; a job must drop null fields itself (DynamicFrame.map),
                # which works either way. The stand-in refuses what Glue might store as NULL.
                nulls = sorted(name for name, value in record.items() if value is None)
                if nulls:
                    raise ValueError(
                        f"an item for {table_name} has null fields ({', '.join(nulls)}): Glue's DynamoDB writer may store them as NULL attributes; drop null fields before writing"
                    )
                batch.put_item(Item=_attribute(record))
                written += 1
        self.items_written += written
