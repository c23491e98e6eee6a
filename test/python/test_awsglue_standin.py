"""The local Glue stand-in (scripts/local/spark/): its own behaviour, apart from the jobs."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from awsglue.dynamicframe import choice_paths, kind_of, merge_kinds
from awsglue.utils import GlueArgumentError, getResolvedOptions


class TestGetResolvedOptions:
    ARGV = ["script.py", "--JOB_ID", "j_1", "--JOB_NAME", "dynalake-dev-orders-to-lake", "--LAKE_BUCKET", "lake", "--job-bookmark-option", "job-bookmark-disable", "--OFFSET", "-1"]

    def test_returns_what_was_asked_and_ignores_the_rest(self) -> None:
        assert getResolvedOptions(self.ARGV, ["JOB_NAME", "LAKE_BUCKET"]) == {"JOB_NAME": "dynalake-dev-orders-to-lake", "LAKE_BUCKET": "lake"}

    def test_takes_a_value_that_starts_with_a_dash(self) -> None:
        assert getResolvedOptions(self.ARGV, ["OFFSET"]) == {"OFFSET": "-1"}

    def test_a_missing_argument_fails_naming_it(self) -> None:
        with pytest.raises(GlueArgumentError, match="--CDC_PREFIX"):
            getResolvedOptions(self.ARGV, ["JOB_NAME", "CDC_PREFIX"])

    def test_does_not_take_an_abbreviation(self) -> None:
        with pytest.raises(GlueArgumentError, match="--LAKE"):
            getResolvedOptions(self.ARGV, ["LAKE"])


class TestKinds:
    def test_records_that_disagree_make_a_choice_of_one_member_per_kind(self) -> None:
        kind = merge_kinds(kind_of({"price": 27.5}), kind_of({"price": "27.5"}))
        assert kind == ("struct", {"price": ("choice", {"double": ("double",), "string": ("string",)})})
        assert choice_paths(kind) == ["price"]

    def test_int_and_long_are_one_kind(self) -> None:
        assert merge_kinds(kind_of(6), kind_of(2**40)) == ("long",)
        assert merge_kinds(merge_kinds(kind_of(6), kind_of("6")), kind_of(2**40)) == ("choice", {"long": ("long",), "string": ("string",)})

    def test_a_null_or_a_missing_field_is_no_disagreement(self) -> None:
        assert merge_kinds(kind_of({"a": None}), kind_of({"a": 1, "b": True})) == ("struct", {"a": ("int",), "b": ("boolean",)})

    def test_choices_inside_structs_and_arrays_are_found(self) -> None:
        kind = merge_kinds(kind_of({"newImage": {"tasks": [{"reward": 5}]}}), kind_of({"newImage": {"tasks": [{"reward": "5"}]}}))
        assert choice_paths(kind) == ["newImage.tasks[].reward"]


def write_jsonl_gz(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.writelines(json.dumps(record) + "\n" for record in records)


class TestDynamicFrameFromS3Json:
    def test_reads_records_with_choice_types_that_must_be_resolved(self, spark: Any, tmp_path: Path) -> None:
        from awsglue.context import GlueContext

        write_jsonl_gz(tmp_path / "cdc" / "dt=2024-05-01" / "a.jsonl.gz", [{"keys": {"InvoiceNo": "1"}, "newImage": {"UnitPrice": 27.5, "LineNo": 1}}])
        write_jsonl_gz(tmp_path / "cdc" / "dt=2024-05-02" / "b.jsonl.gz", [{"keys": {"InvoiceNo": "2"}, "newImage": {"UnitPrice": "2.55", "LineNo": 2}}])
        glue = GlueContext(spark.sparkContext)
        frame = glue.create_dynamic_frame.from_options(connection_type="s3", connection_options={"paths": [(tmp_path / "cdc").as_uri()], "recurse": True}, format="json", transformation_ctx="cdc")
        with pytest.raises(ValueError, match=r"unresolved choice types at newImage\.UnitPrice"):
            frame.toDF()
        rows = frame.resolveChoice(choice="make_struct").toDF()
        assert rows.schema["newImage"].dataType["UnitPrice"].dataType.simpleString() == "struct<double:double,string:string>"
        prices = sorted((row["keys"]["InvoiceNo"], row["newImage"]["UnitPrice"].asDict()) for row in rows.collect())
        assert prices == [("1", {"double": 27.5, "string": None}), ("2", {"double": None, "string": "2.55"})]

    def test_a_prefix_with_no_object_is_an_empty_frame(self, spark: Any, tmp_path: Path) -> None:
        from awsglue.context import GlueContext

        frame = GlueContext(spark.sparkContext).create_dynamic_frame.from_options(connection_type="s3", connection_options={"paths": [(tmp_path / "none").as_uri()]}, format="json")
        assert frame.resolveChoice(choice="make_struct").toDF().columns == []

    def test_refuses_a_write_percent_glue_refuses(self, spark: Any) -> None:
        from awsglue.context import GlueContext
        from awsglue.dynamicframe import DynamicFrame

        glue = GlueContext(spark.sparkContext)
        frame = DynamicFrame.fromDF(spark.createDataFrame([("a",)], "id STRING"), glue, "items")
        with pytest.raises(ValueError, match="between 0.1 and 1.5"):
            glue.write_dynamic_frame_from_options(frame=frame, connection_type="dynamodb", connection_options={"dynamodb.output.tableName": "t", "dynamodb.throughput.write.percent": "2"})


EXPORT_OPTIONS = {
    "dynamodb.export": "ddb",
    "dynamodb.tableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/dynalake-dev-orders",
    "dynamodb.s3.bucket": "assets",
    "dynamodb.s3.prefix": "dynamodb-exports/orders/",
    "dynamodb.unnestDDBJson": True,
}


class TestDynamoDBExportConnector:
    """The options are checked as Glue documents them before anything is exported (the checks
    need no DynamoDB or S3); the export itself is tested with the engines (engines-goldens.test.ts)."""

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ({"dynamodb.tableArn": None}, "dynamodb.tableArn is missing"),
            ({"dynamodb.tableArn": "dynalake-dev-orders"}, r"dynamodb.tableArn 'dynalake-dev-orders' is not a DynamoDB table ARN \(arn:aws:dynamodb:<region>:<account>:table/<name>\)"),
            ({"dynamodb.s3.bucket": None}, "dynamodb.s3.bucket is missing"),
            ({"dynamodb.export": "dynamodb"}, "dynamodb.export must be ddb \\(a new export\\) or s3 \\(a past export\\), not 'dynamodb'"),
            ({"dynamodb.simplifyDDBJson": "true"}, "dynamodb.unnestDDBJson and dynamodb.simplifyDDBJson cannot both be true"),
            ({"dynamodb.unnestDDBJson": "yes"}, "dynamodb.unnestDDBJson must be a boolean \\(true or false\\), not 'yes'"),
        ],
    )
    def test_refuses_options_glue_refuses(self, spark: Any, change: dict[str, Any], error: str) -> None:
        from awsglue.context import GlueContext

        options = {name: value for name, value in {**EXPORT_OPTIONS, **change}.items() if value is not None}
        with pytest.raises(ValueError, match=error):
            GlueContext(spark.sparkContext).create_dynamic_frame.from_options(connection_type="dynamodb", connection_options=options)

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ({"dynamodb.export": "s3"}, "dynamodb.export=s3 \\(read a past export\\) is not in the local stand-in"),
            ({"dynamodb.exportTime": "2024-05-01T00:00:00Z"}, "the local DynamoDB keeps no history"),
            ({"dynamodb.export": None, "dynamodb.input.tableName": "orders"}, "not the ETL connector"),
        ],
    )
    def test_says_what_it_cannot_do_here(self, spark: Any, change: dict[str, Any], error: str) -> None:
        from awsglue.context import GlueContext

        options = {name: value for name, value in {**EXPORT_OPTIONS, **change}.items() if value is not None}
        with pytest.raises(NotImplementedError, match=error):
            GlueContext(spark.sparkContext).create_dynamic_frame.from_options(connection_type="dynamodb", connection_options=options)

    def test_takes_the_options_in_either_form_glue_accepts(self) -> None:
        from awsglue._dynamodb_export import export_folder, export_request

        request = export_request({**EXPORT_OPTIONS, "dynamodb.unnestDDBJson": "true"})
        assert (request.table_name, request.bucket, request.prefix, request.unnest) == ("dynalake-dev-orders", "assets", "dynamodb-exports/orders/", True)
        plain = export_request({name: value for name, value in EXPORT_OPTIONS.items() if name not in ("dynamodb.unnestDDBJson", "dynamodb.s3.prefix")})
        assert (plain.prefix, plain.unnest) == ("", False)
        assert (export_folder(request.prefix), export_folder(plain.prefix)) == ("dynamodb-exports/orders/AWSDynamoDB/", "AWSDynamoDB/")

    def test_unnests_dynamodb_json_as_glue_documents(self) -> None:
        from awsglue._dynamodb_export import unnest_line

        line = {
            "Item": {
                "InvoiceNo": {"S": "536365"},
                "UnitPrice": {"N": "12345678901234567890.125"},
                "IsCancellation": {"BOOL": False},
                "Nothing": {"NULL": True},
                "Tags": {"SS": ["a", "b"]},
                "Sizes": {"NS": ["1", "2.5"]},
                "Raw": {"B": "3q0="},
                "Tasks": {"L": [{"M": {"reward": {"N": "5"}}}, {"NULL": True}]},
            }
        }
        assert unnest_line(line) == {
            "InvoiceNo": "536365",
            "UnitPrice": "12345678901234567890.125",
            "IsCancellation": False,
            "Nothing": None,
            "Tags": ["a", "b"],
            "Sizes": ["1", "2.5"],
            "Raw": "3q0=",
            "Tasks": [{"reward": "5"}, None],
        }
        with pytest.raises(ValueError, match="is not a DynamoDB JSON value"):
            unnest_line({"Item": {"Quantity": {"S": "1", "N": "1"}}})
        with pytest.raises(ValueError, match='a DynamoDB JSON export line is {"Item": {...}}'):
            unnest_line({"InvoiceNo": {"S": "1"}})


class TestJob:
    def test_commit_is_recorded_and_needs_init(self, spark: Any) -> None:
        from awsglue.context import GlueContext
        from awsglue.job import Job

        job = Job(GlueContext(spark.sparkContext))
        with pytest.raises(RuntimeError, match="before Job.init"):
            job.commit()
        job.init("dynalake-dev-orders-to-lake", {"JOB_NAME": "dynalake-dev-orders-to-lake"})
        job.commit()
        assert job.committed


class TestS3Mirror:
    def test_pull_and_push_move_only_changes_and_leave_other_writers_alone(self, s3: Any, tmp_path: Path) -> None:
        from s3_mirror import S3Mirror

        bucket = f"mirror-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="cdc/a.jsonl.gz", Body=b"a")
        s3.put_object(Bucket=bucket, Key="curated/day=1/part-0.parquet", Body=b"old")
        mirror = S3Mirror(tmp_path / "mirror", [bucket], s3)
        assert mirror.pull().downloaded == 2
        folder = mirror.folder(bucket)
        assert (folder / "cdc" / "a.jsonl.gz").read_bytes() == b"a"
        assert mirror.pull().downloaded == 0  # unchanged: nothing crosses again

        # A job rewrites a partition (and Hadoop leaves its checksum beside it), another writer adds an object.
        (folder / "curated" / "day=1" / "part-0.parquet").unlink()
        (folder / "curated" / "day=2").mkdir(parents=True)
        (folder / "curated" / "day=2" / "part-0.parquet").write_bytes(b"new")
        (folder / "curated" / "day=2" / ".part-0.parquet.crc").write_bytes(b"crc")
        s3.put_object(Bucket=bucket, Key="cdc/b.jsonl.gz", Body=b"b")
        pushed = mirror.push()
        assert (pushed.uploaded, pushed.deleted) == (1, 1)
        keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"])
        assert keys == ["cdc/a.jsonl.gz", "cdc/b.jsonl.gz", "curated/day=2/part-0.parquet"]

        # The other writer's object arrives at the next pull; emptied folders and checksums go.
        assert mirror.pull().downloaded == 1
        assert (folder / "cdc" / "b.jsonl.gz").read_bytes() == b"b"
        assert not (folder / "curated" / "day=1").exists()
        assert not (folder / "curated" / "day=2" / ".part-0.parquet.crc").exists()


    def test_pulls_an_empty_object(self, s3: Any, tmp_path: Path) -> None:
        from s3_mirror import S3Mirror

        # A DynamoDB export's _started is empty; boto3's download_file fails on one from s3rver.
        bucket = f"mirror-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="exports/AWSDynamoDB/01714560000000-0a1b2c3d/_started", Body=b"")
        mirror = S3Mirror(tmp_path / "mirror", [bucket], s3)
        assert mirror.pull().downloaded == 1
        assert (mirror.folder(bucket) / "exports" / "AWSDynamoDB" / "01714560000000-0a1b2c3d" / "_started").read_bytes() == b""
        assert (mirror.pull().downloaded, mirror.push().uploaded) == (0, 0)


class TestDynamoDBWriter:
    def test_refuses_a_null_field_that_glue_might_store_as_null(self, spark: Any) -> None:
        from awsglue.context import GlueContext
        from awsglue.dynamicframe import DynamicFrame

        glue = GlueContext(spark.sparkContext)
        frame = DynamicFrame.fromDF(spark.createDataFrame([("a", None)], "id STRING, Description STRING"), glue, "items")
        with pytest.raises(ValueError, match=r"null fields \(Description\)"):
            glue.write_dynamic_frame_from_options(frame=frame, connection_type="dynamodb", connection_options={"dynamodb.output.tableName": "t", "dynamodb.throughput.write.percent": "0.5"})

    def test_map_gives_records_their_own_fields(self, spark: Any) -> None:
        import csv_to_dynamodb
        from awsglue.context import GlueContext
        from awsglue.dynamicframe import DynamicFrame

        assert csv_to_dynamodb.without_nulls({"id": "a", "Description": None, "Quantity": "6"}) == {"id": "a", "Quantity": "6"}

        def drop_nulls(record: dict) -> dict:  # travels to Spark's workers by value, as a job's own function does
            return {name: value for name, value in record.items() if value is not None}

        glue = GlueContext(spark.sparkContext)
        frame = DynamicFrame.fromDF(spark.createDataFrame([("a", None), ("b", "text")], "id STRING, Description STRING"), glue, "items").map(f=drop_nulls)
        assert sorted(frame.records().collect(), key=lambda record: record["id"]) == [{"id": "a"}, {"id": "b", "Description": "text"}]
        assert frame.toDF().count() == 2
