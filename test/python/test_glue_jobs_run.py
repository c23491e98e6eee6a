"""The Glue jobs end to end, each run as Glue runs it: the script as `__main__` with its job
arguments, the helper module on --extra-py-files, by the local Glue runner that `npm start --
--engine spark` uses (scripts/local/spark/local_glue.py, in a process of its own), against an
embedded S3 (s3rver) and DynamoDB (dynalite), on the goldens of test/fixtures/etl/.

test_jobs_spark.py checks each job's transformations on a DataFrame; these check what only a run
does: reading the change objects the job has not merged, writing the partitions and deleting the
emptied ones, remembering what was merged, backfilling from a DynamoDB export, decoding an upload
and writing DynamoDB items.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GLUE_SCRIPTS = ROOT / "glue-scripts"
STAND_IN = ROOT / "scripts" / "local" / "spark"
sys.path.insert(0, str(GLUE_SCRIPTS / "tests"))
from goldens import canonical, curated_input, load_golden, orders_dataset_argument, rows_as_json  # noqa: E402

pytest.importorskip("pyspark", reason="pyspark is not installed: " + os.environ.get("DYNALAKE_SPARK_UNAVAILABLE", "bash scripts/python/setup.sh makes .venv/"))

RUN = uuid.uuid4().hex[:8]
LANDING, LAKE, EXPORTS = f"landing-{RUN}", f"lake-{RUN}", f"exports-{RUN}"
HELPER = str(GLUE_SCRIPTS / "dynalake_glue.py")
NAMESPACE = f"dynalake-test-{RUN}"


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    server = subprocess.Popen(["node", str(Path(__file__).with_name("dynalite.mjs"))], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    yield json.loads(server.stdout.readline())["endpoint"]
    server.stdin.close()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def environment(s3_endpoint: str, dynamodb_endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint, "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def aws(environment: dict[str, str]) -> Iterator[tuple[Any, Any]]:
    """Clients of the embedded S3 and DynamoDB, with the runner's buckets made."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    import boto3
    import local_glue

    s3 = local_glue.s3_client()
    for bucket in (LANDING, LAKE, EXPORTS):
        s3.create_bucket(Bucket=bucket)
    yield s3, boto3.resource("dynamodb", region_name="us-east-1")
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class Runner:
    """local_glue.py in a process of its own, as the local pipeline starts it: one request per line
    on stdin, one answer per line on file descriptor 3."""

    def __init__(self, environment: dict[str, str], mirror: Path, log: Path) -> None:
        answers_read, answers_write = os.pipe()
        self.log = log
        with log.open("w") as output:
            command = [sys.executable, str(STAND_IN / "local_glue.py"), "--mirror", str(mirror), *(token for bucket in (LANDING, LAKE, EXPORTS) for token in ("--bucket", bucket))]
            self.process = subprocess.Popen(
                # The shell puts the answers' pipe on descriptor 3 (a preexec_fn's dup2 would be closed
                # again by close_fds).
                ["bash", "-c", f'exec "$@" 3>&{answers_write}', "local_glue", *command],
                cwd=ROOT,
                env={**os.environ, **environment},
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                pass_fds=(answers_write,),
            )
        os.close(answers_write)
        self.answers = os.fdopen(answers_read, encoding="utf-8")
        ready = self.answers.readline()
        assert ready, f"local_glue.py did not start:\n{log.read_text()[-4000:]}"
        self.requests = 0

    def run(self, job: str, arguments: dict[str, str]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.requests += 1
        # A dataset's job (orders_to_lake) runs the generic CDC merge; every other job its own script.
        script = "dataset_to_lake" if job.endswith("_to_lake") else job
        request = {"id": self.requests, "script": str(GLUE_SCRIPTS / f"{script}.py"), "extra_py_files": [HELPER], "arguments": {f"--{name}": value for name, value in {"JOB_NAME": f"dynalake-test-{job}", **arguments}.items()}}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.answers.readline()
        assert line, f"local_glue.py ended during {job}:\n{self.log.read_text()[-4000:]}"
        answer = json.loads(line)
        assert answer["id"] == self.requests
        return answer

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.answers.close()


@pytest.fixture(scope="module")
def runner(aws: tuple[Any, Any], environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    folder = tmp_path_factory.mktemp("local-glue")
    started = Runner(environment, folder / "mirror", folder / "spark.log")
    yield started
    started.stop()


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def put_change_object(s3: Any, prefix: str, name: str, records: list[dict[str, Any]]) -> str:
    """A change object as the stream bridge writes it: gzipped JSON lines under dt= folders."""
    key = f"{prefix}dt=2024-05-01/{name}.jsonl.gz"
    s3.put_object(Bucket=LANDING, Key=key, Body=gzip.compress("".join(json.dumps(record) + "\n" for record in records).encode("utf-8")))
    return key


def put_parquet(spark: Any, s3: Any, frame: Any, prefix: str, scratch: Path, partition: str | None = None) -> None:
    """`frame` written by Spark as Parquet to the lake under `prefix`, as a job would have left it."""
    writer = frame.write.mode("overwrite")
    (writer.partitionBy(partition) if partition else writer).parquet(str(scratch))
    for path in scratch.rglob("*.parquet"):
        s3.upload_file(str(path), LAKE, prefix + path.relative_to(scratch).as_posix())


def read_parquet(spark: Any, s3: Any, prefix: str, scratch: Path, schema: str | None = None) -> Any:
    """What the lake holds under `prefix`, read back through a local copy."""
    for key in keys_under(s3, LAKE, prefix):
        target = scratch / key[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        # get_object, not download_file: s3rver answers the latter's ranged GET of an empty object (_SUCCESS) with an error.
        target.write_bytes(s3.get_object(Bucket=LAKE, Key=key)["Body"].read())
    reader = spark.read.schema(schema) if schema else spark.read
    return reader.parquet(str(scratch))


def published(answer: dict[str, Any], job: str, dataset: str) -> dict[str, float]:
    """The figures the run gave PutMetricData (kept by the local Glue), by name: each in the run's
    namespace, with its unit and the job's two dimensions."""
    from dynalake_glue import JOB_METRIC_UNITS

    figures: dict[str, float] = {}
    for datum in answer["metrics"]:
        assert datum["Namespace"] == NAMESPACE, datum
        assert datum["Dimensions"] == [{"Name": "service", "Value": job}, {"Name": "dataset", "Value": dataset}], datum
        assert datum["Unit"] == JOB_METRIC_UNITS[datum["MetricName"]], datum
        assert datum["MetricName"] not in figures, datum
        figures[datum["MetricName"]] = datum["Value"]
    assert 0 < figures.pop("RunDurationSeconds") < 600
    return figures


def merged_state(s3: Any, job: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=LAKE, Key=f"state/{job}/merged.json")["Body"].read())


def test_orders_to_lake_merges_new_change_objects_and_deletes_emptied_partitions(runner: Runner, aws: tuple[Any, Any], spark: Any, tmp_path: Path) -> None:
    from dynalake_glue import CURATED_ORDERS_DDL

    s3, _dynamodb = aws
    given, expected = load_golden("orders_to_lake")
    put_parquet(spark, s3, spark.createDataFrame([curated_input(row) for row in given["current"]], CURATED_ORDERS_DDL), "incremental/curated/orders/", tmp_path / "current", "invoice_day")
    key = put_change_object(s3, "incremental/cdc/orders/", "shard-000-batch", given["changes"])
    arguments = {
        "LANDING_BUCKET": LANDING,
        "LAKE_BUCKET": LAKE,
        "CDC_PREFIX": "incremental/cdc/orders/",
        "CURATED_PREFIX": "incremental/curated/orders/",
        "STATE_PREFIX": "state/orders_to_lake/",
        "MODE": "incremental",
        "SOURCE_TABLE_ARN": "arn:aws:dynamodb:us-east-1:000000000000:table/unused",
        "EXPORT_BUCKET": EXPORTS,
        "EXPORT_PREFIX": "dynamodb-exports/",
        "DATASET": orders_dataset_argument(),
        "METRICS_NAMESPACE": NAMESPACE,
    }

    answer = runner.run("orders_to_lake", arguments)
    assert answer["ok"], answer
    assert answer["committed"]
    # Its figures, after the commit: the keys by their latest change, the partitions' rows before
    # and after (the untouched partitions count in neither), and how old the newest change was.
    figures = published(answer, "orders_to_lake", "orders")
    latest: dict[tuple[str, int], str] = {}
    for record in sorted(given["changes"], key=lambda record: int(record["sequenceNumber"])):
        latest[(record["keys"]["InvoiceNo"], record["keys"]["LineNo"])] = record["eventName"]
    freshness = figures.pop("LakeFreshnessSeconds")
    newest = max(record["approximateCreationTime"] for record in given["changes"])
    assert time.time() - newest - 600 < freshness <= time.time() - newest
    assert figures["ChangeObjectsMerged"] == 1
    assert figures["RowsRemoved"] == sum(event == "REMOVE" for event in latest.values()) > 0
    assert figures["RowsUpserted"] == sum(event != "REMOVE" for event in latest.values())
    assert figures["RowsRead"] - figures["RowsWritten"] == len(given["current"]) - len(expected["rows"])
    assert figures["PartitionsRewritten"] > len(expected["emptied_partitions"])
    assert "merged 1 new change object of s3://" in "\n".join(answer["output"])
    table = read_parquet(spark, s3, "incremental/curated/orders/", tmp_path / "after", CURATED_ORDERS_DDL)
    # The latest change of each key by sequence number as an integer (21 digits against 22), REMOVEs
    # gone, untouched partitions as they were.
    assert canonical(rows_as_json(table)) == canonical(expected["rows"])
    days = {key.split("invoice_day=")[1].split("/")[0] for key in keys_under(s3, LAKE, "incremental/curated/orders/")}
    assert expected["emptied_partitions"] and not days & set(expected["emptied_partitions"])
    assert merged_state(s3, "orders_to_lake")["sources"] == {f"s3://{LANDING}/incremental/cdc/orders/": [key]}

    # The same objects again: nothing read, nothing written, the state unchanged.
    before = keys_under(s3, LAKE, "incremental/")
    again = runner.run("orders_to_lake", arguments)
    assert again["ok"] and again["uploaded"] == 0 and again["deleted"] == 0, again
    assert "no new change objects in s3://" in "\n".join(again["output"])
    # Nothing was waiting: nothing merged, and the lake as fresh as it gets.
    assert published(again, "orders_to_lake", "orders") == {"ChangeObjectsMerged": 0, "RowsRead": 0, "RowsUpserted": 0, "RowsRemoved": 0, "RowsWritten": 0, "PartitionsRewritten": 0, "LakeFreshnessSeconds": 0}
    assert keys_under(s3, LAKE, "incremental/") == before

    refused = runner.run("orders_to_lake", {**arguments, "MODE": "full"})
    assert not refused["ok"]
    # A failed run publishes nothing: its figures would describe output that is not there.
    assert refused["metrics"] == []
    assert refused["error"] == "MODE must be incremental or backfill, not 'full'"
    # A description it cannot follow fails the run before anything is read.
    undescribed = runner.run("orders_to_lake", {**arguments, "DATASET": '{"name": "orders"'})
    assert not undescribed["ok"]
    assert undescribed["error"].startswith("DATASET argument: not JSON ("), undescribed["error"]


def latest_changes(changes: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The table as the changes leave it: each key's latest change record, by sequence number as an integer."""
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for record in sorted(changes, key=lambda record: int(record["sequenceNumber"])):
        latest[(record["keys"]["InvoiceNo"], record["keys"]["LineNo"])] = record
    return latest


def put_orders_table(dynamodb: Any, name: str, images: list[dict[str, Any]]) -> None:
    """An orders table (InvoiceNo, LineNo) named `name` in the local DynamoDB, holding `images` (null attributes left out)."""
    table = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "InvoiceNo", "KeyType": "HASH"}, {"AttributeName": "LineNo", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "InvoiceNo", "AttributeType": "S"}, {"AttributeName": "LineNo", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with table.batch_writer() as batch:
        for image in images:
            batch.put_item(Item=json.loads(json.dumps({name: value for name, value in image.items() if value is not None}), parse_float=Decimal))


def backfill_arguments(root: str, table: str, export_prefix: str) -> dict[str, str]:
    """orders_to_lake's arguments for a backfill of `table` into `root`/curated/orders/, exporting under `export_prefix`."""
    return {
        "LANDING_BUCKET": LANDING,
        "LAKE_BUCKET": LAKE,
        "CDC_PREFIX": f"{root}/cdc/orders/",
        "CURATED_PREFIX": f"{root}/curated/orders/",
        "STATE_PREFIX": f"state/orders_to_lake-{root}/",
        "MODE": "backfill",
        "SOURCE_TABLE_ARN": f"arn:aws:dynamodb:us-east-1:000000000000:table/{table}",
        "EXPORT_BUCKET": EXPORTS,
        "EXPORT_PREFIX": export_prefix,
        "DATASET": orders_dataset_argument(),
        "METRICS_NAMESPACE": NAMESPACE,
    }


def test_orders_to_lake_backfill_rewrites_the_table_from_a_dynamodb_export(runner: Runner, aws: tuple[Any, Any], spark: Any, tmp_path: Path) -> None:
    from dynalake_glue import CURATED_ORDERS_DDL

    s3, dynamodb = aws
    given, expected = load_golden("orders_to_lake")
    latest = latest_changes(given["changes"])
    items = [record["newImage"] for record in latest.values() if record["eventName"] != "REMOVE"]
    put_orders_table(dynamodb, f"orders-{RUN}", items)
    # A partition the table no longer has: the backfill's static overwrite must not keep it.
    put_parquet(spark, s3, spark.createDataFrame([curated_input(row) for row in given["current"]], CURATED_ORDERS_DDL), "backfill/curated/orders/", tmp_path / "stale", "invoice_day")

    answer = runner.run(
        "orders_to_lake",
        backfill_arguments("backfill", f"orders-{RUN}", "dynamodb-exports/"),
    )
    assert answer["ok"], answer
    assert f"backfill: read {len(items)} items from the DynamoDB export" in "\n".join(answer["output"])
    # A rebuild: every item read and written; no change merged, so no word on freshness.
    days = {row["invoice_day"] for row in expected["rows"] if (row["invoice_no"], row["line_no"]) in {key for key, record in latest.items() if record["eventName"] != "REMOVE"}}
    assert published(answer, "orders_to_lake", "orders") == {"RowsRead": len(items), "RowsWritten": len(items), "PartitionsRewritten": len(days)}
    rows = rows_as_json(read_parquet(spark, s3, "backfill/curated/orders/", tmp_path / "after", CURATED_ORDERS_DDL))
    by_key = {(row["invoice_no"], row["line_no"]): row for row in expected["rows"]}
    assert sorted((row["invoice_no"], row["line_no"]) for row in rows) == sorted(latest_key for latest_key, record in latest.items() if record["eventName"] != "REMOVE")
    for row in rows:
        assert row == by_key[(row["invoice_no"], row["line_no"])]
    # The export stays in S3, laid out as DynamoDB lays one out, as Glue's connector leaves it.
    assert any(key.endswith("/manifest-summary.json") for key in keys_under(s3, EXPORTS, "dynamodb-exports/AWSDynamoDB/"))


def test_orders_to_lake_backfill_refuses_an_item_whose_attribute_differs_in_kind_naming_it_and_keeps_the_table(runner: Runner, aws: tuple[Any, Any], spark: Any, tmp_path: Path) -> None:
    """An attribute of two DynamoDB types across the exported items (IsCancellation a BOOL in most,
    the text "true" in one, as a writer other than the CSV loader could leave it) is a Glue choice
    after unnestDDBJson: resolveChoice(make_struct) makes it a struct of a boolean and a string
    member, which curated_rows converts member by member. The string is no boolean, so the run fails
    naming the item, the attribute and the value (not the DynamicFrame's unresolved choice), and the
    old table is left as it was."""
    from dynalake_glue import CURATED_ORDERS_DDL

    s3, dynamodb = aws
    given, _expected = load_golden("orders_to_lake")
    latest = latest_changes(given["changes"])
    items = [record["newImage"] for record in latest.values() if record["eventName"] != "REMOVE"]
    assert all(isinstance(image["IsCancellation"], bool) for image in items)
    # The cancellation, with its flag as text: S "true" where the other items hold BOOL.
    [cancellation] = [image for image in items if image["InvoiceNo"] == "C536379"]
    mixed = [{**image, "IsCancellation": "true"} if image is cancellation else image for image in items]
    put_orders_table(dynamodb, f"orders-mixed-{RUN}", mixed)
    put_parquet(spark, s3, spark.createDataFrame([curated_input(row) for row in given["current"]], CURATED_ORDERS_DDL), "backfill-mixed/curated/orders/", tmp_path / "old", "invoice_day")
    before = {key: s3.get_object(Bucket=LAKE, Key=key)["Body"].read() for key in keys_under(s3, LAKE, "backfill-mixed/curated/orders/")}

    answer = runner.run(
        "orders_to_lake",
        backfill_arguments("backfill-mixed", f"orders-mixed-{RUN}", "dynamodb-exports-mixed/"),
    )
    assert not answer["ok"]
    # raise_error fails a task: the runner answers with the job's own message, not Spark's stage-failure line around it.
    assert answer["error"] == "orders change C536379/1: IsCancellation true is not a boolean", answer["error"]
    assert not any(line.startswith("backfill: ") for line in answer["output"])
    assert answer["metrics"] == []
    # Refused before the static overwrite: the old table, file for file, byte for byte.
    assert {key: s3.get_object(Bucket=LAKE, Key=key)["Body"].read() for key in keys_under(s3, LAKE, "backfill-mixed/curated/orders/")} == before


def land_campaign_progress_golden(s3: Any, root: str, state_prefix: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The campaign_progress golden's two change streams, landed under `root`/cdc/, with the
    golden's input and expected rows and the job's arguments for them (its table under `root`/curated/)."""
    given, expected = load_golden("campaign_progress")
    put_change_object(s3, f"{root}/cdc/user_Campaign/", "shard-000-batch", given["user_campaign_changes"])
    put_change_object(s3, f"{root}/cdc/campaignInfo/", "shard-000-batch", given["campaign_info_changes"])
    arguments = {
        "LANDING_BUCKET": LANDING,
        "LAKE_BUCKET": LAKE,
        "USER_CAMPAIGN_CDC_PREFIX": f"{root}/cdc/user_Campaign/",
        "CAMPAIGN_INFO_CDC_PREFIX": f"{root}/cdc/campaignInfo/",
        "CURATED_PREFIX": f"{root}/curated/campaign_progress/",
        "STATE_PREFIX": state_prefix,
        "METRICS_NAMESPACE": NAMESPACE,
    }
    return given, expected, arguments


def test_campaign_progress_merges_both_change_streams_and_keeps_the_campaigns(runner: Runner, aws: tuple[Any, Any], spark: Any, tmp_path: Path) -> None:
    import campaign_progress

    s3, _dynamodb = aws
    given, expected, arguments = land_campaign_progress_golden(s3, "campaigns", "state/campaign_progress/")

    answer = runner.run("campaign_progress", arguments)
    assert answer["ok"], answer
    figures = published(answer, "campaign_progress", "campaign_progress")
    newest = max(record["approximateCreationTime"] for record in given["user_campaign_changes"] + given["campaign_info_changes"])
    assert time.time() - newest - 600 < figures.pop("LakeFreshnessSeconds") <= time.time() - newest
    # A first run: no row before, every row of the golden written, in its five days.
    assert figures == {"ChangeObjectsMerged": 2, "RowsRead": 0, "RowsWritten": len(expected["rows"]), "PartitionsRewritten": 5}
    # 2024-02-04 is USR-000004's day: touched by its REMOVE, left empty, so not written.
    assert "merged 2 new change objects: 5 partitions rewritten (1 left empty, deleted)" in answer["output"]
    table = read_parquet(spark, s3, "campaigns/curated/campaign_progress/", tmp_path / "after", campaign_progress.CAMPAIGN_PROGRESS_DDL)
    assert canonical(rows_as_json(table)) == canonical(expected["rows"])
    # The campaigns the next runs join with, beside the state: the latest image of each.
    with gzip.open(io.BytesIO(s3.get_object(Bucket=LAKE, Key=f"state/campaign_progress/{campaign_progress.CAMPAIGNS_STATE_OBJECT}")["Body"].read()), "rt") as kept:
        campaigns = sorted(json.loads(line)["keys"]["campaignID"] for line in kept)
    assert campaigns == sorted({record["keys"]["campaignID"] for record in given["campaign_info_changes"]} - {record["keys"]["campaignID"] for record in given["campaign_info_changes"] if record["eventName"] == "REMOVE"})
    assert sorted(merged_state(s3, "campaign_progress")["sources"]) == [f"s3://{LANDING}/campaigns/cdc/campaignInfo/", f"s3://{LANDING}/campaigns/cdc/user_Campaign/"]

    again = runner.run("campaign_progress", arguments)
    assert again["ok"] and again["uploaded"] == 0, again
    assert again["output"][-1] == "no new change objects since the last run: nothing to do"
    assert published(again, "campaign_progress", "campaign_progress") == {"ChangeObjectsMerged": 0, "RowsRead": 0, "RowsWritten": 0, "PartitionsRewritten": 0, "LakeFreshnessSeconds": 0}


def test_campaign_progress_rewrites_only_the_days_a_later_batch_touches_and_deletes_those_it_empties(runner: Runner, aws: tuple[Any, Any], spark: Any, tmp_path: Path) -> None:
    """A second batch through main(): the dynamic partition overwrite leaves the untouched days as
    they were, and the day the batch empties is deleted (a first run has neither to do)."""
    import campaign_progress

    s3, _dynamodb = aws
    given, expected, arguments = land_campaign_progress_golden(s3, "later", "later/state/campaign_progress/")
    first = runner.run("campaign_progress", arguments)
    assert first["ok"], first

    # USR-000001 leaves (REMOVE): its day, 2024-01-10, holds no one else.
    gone = "USR-000001"
    [day] = {row["created_day"] for row in expected["rows"] if row["user_id"] == gone}
    assert day == "2024-01-10" and {row["user_id"] for row in expected["rows"] if row["created_day"] == day} == {gone}
    old_image = next(record["newImage"] for record in reversed(given["user_campaign_changes"]) if record["keys"]["userID"] == gone and record["newImage"])
    removal = {"eventName": "REMOVE", "keys": {"userID": gone, "campaignID": old_image["campaignID"]}, "sequenceNumber": "99999", "approximateCreationTime": time.time() - 60, "newImage": None, "oldImage": old_image}
    put_change_object(s3, "later/cdc/user_Campaign/", "shard-000-later", [removal])
    before = {key for key in keys_under(s3, LAKE, "later/curated/campaign_progress/") if f"created_day={day}/" not in key}

    later = runner.run("campaign_progress", arguments)
    assert later["ok"], later
    figures = published(later, "campaign_progress", "campaign_progress")
    figures.pop("LakeFreshnessSeconds")
    assert figures == {"ChangeObjectsMerged": 1, "RowsRead": 2, "RowsWritten": 0, "PartitionsRewritten": 1}
    assert "merged 1 new change object: 1 partitions rewritten (1 left empty, deleted)" in later["output"]
    keys = keys_under(s3, LAKE, "later/curated/campaign_progress/")
    # The emptied day is gone; the other days' files are the very ones the first run wrote.
    assert sorted({key.split("created_day=")[1].split("/")[0] for key in keys if "created_day=" in key}) == ["2024-01-31", "2024-02-03", "2024-02-10"]
    assert {key for key in keys if "created_day=" in key} == {key for key in before if "created_day=" in key}
    table = read_parquet(spark, s3, "later/curated/campaign_progress/", tmp_path / "after", campaign_progress.CAMPAIGN_PROGRESS_DDL)
    assert canonical(rows_as_json(table)) == canonical([row for row in expected["rows"] if row["user_id"] != gone])


def test_csv_to_dynamodb_loads_an_iso_8859_1_upload_into_dynamodb(runner: Runner, aws: tuple[Any, Any]) -> None:
    s3, dynamodb = aws
    given, expected = load_golden("csv_to_dynamodb")
    table = dynamodb.create_table(
        TableName=f"uploads-{RUN}",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # The Kaggle file is ISO-8859-1: CAFÉ CRÈME read as UTF-8 would not be the golden's text.
    s3.put_object(Bucket=LANDING, Key=given["source_file"], Body=given["csv"].encode("iso-8859-1"))

    answer = runner.run("csv_to_dynamodb", {"S3_BUCKET": LANDING, "S3_KEY": given["source_file"], "DYNAMODB_TABLE": table.name, "WRITE_PERCENT": "0.5", "METRICS_NAMESPACE": NAMESPACE, "TARGET_DATASET": "uploads"})
    assert answer["ok"], answer
    assert answer["items_written"] == len(expected["items"])
    # Every data line of the file read, every distinct item written.
    data_lines = len(list(csv.reader(io.StringIO(given["csv"])))) - 1
    assert published(answer, "csv_to_dynamodb", "uploads") == {"RowsRead": data_lines, "RowsWritten": len(expected["items"])}
    items = table.scan()["Items"]
    stamps = {item.pop("ingestion_timestamp") for item in items}
    assert len(stamps) == 1 and stamps.pop().endswith("Z")
    golden = [{name: value for name, value in item.items() if name != "ingestion_timestamp"} for item in expected["items"]]
    assert canonical(items) == canonical(golden)
    summary = next(line for line in answer["output"] if line.startswith(f"s3://{LANDING}/{given['source_file']} → "))
    assert summary.endswith(f"written {len(expected['items'])} + duplicates {summary.split('duplicates ')[1].split(' ')[0]} + rejected 0")


def warehouse_listing(s3: Any, prefix: str) -> dict[str, tuple[str, Any]]:
    """Each object under `prefix` with its ETag and last-modified time: what a run that writes nothing leaves as it was."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=LAKE, Prefix=prefix)
    return {item["Key"]: (item["ETag"], item["LastModified"]) for page in pages for item in page.get("Contents", [])}


def test_sales_star_schema_builds_the_star_from_the_curated_orders(runner: Runner, aws: tuple[Any, Any], spark: Any, tmp_path: Path) -> None:
    from dynalake_glue import CURATED_ORDERS_DDL

    s3, _dynamodb = aws
    given, expected = load_golden("sales_star_schema")
    put_parquet(spark, s3, spark.createDataFrame([curated_input(row) for row in given["orders"]], CURATED_ORDERS_DDL), "star/curated/orders/", tmp_path / "orders", "invoice_day")
    star = {"LAKE_BUCKET": LAKE, "CURATED_PREFIX": "star/curated/orders/", "WAREHOUSE_PREFIX": "star/warehouse/", "STATE_PREFIX": "star/state/sales_star_schema/", "METRICS_NAMESPACE": NAMESPACE}

    answer = runner.run("sales_star_schema", star)
    assert answer["ok"], answer
    tables = sorted(name for name in expected if name != "description")
    # A rebuild: every curated order read, every row of the five tables written.
    assert published(answer, "sales_star_schema", "sales_star_schema") == {"RowsRead": len(given["orders"]), "RowsWritten": sum(len(expected[name]) for name in tables)}
    assert sorted({key.split("/")[2] for key in keys_under(s3, LAKE, "star/warehouse/")}) == tables
    for name in tables:
        rows = rows_as_json(read_parquet(spark, s3, f"star/warehouse/{name}/", tmp_path / name))
        assert canonical(rows) == canonical(expected[name]), name
    curated_files = [key for key in keys_under(s3, LAKE, "star/curated/orders/") if key.endswith(".parquet")]
    state = json.loads(s3.get_object(Bucket=LAKE, Key="star/state/sales_star_schema/built.json")["Body"].read())
    assert state["format"] == 1 and state["job"] == "sales_star_schema"
    assert {name: value for name, value in state["curatedOrders"].items() if name != "fingerprint"} == {"source": f"s3://{LAKE}/star/curated/orders/", "objects": len(curated_files)}

    # The same curated orders again: nothing read, nothing written.
    before = warehouse_listing(s3, "star/warehouse/")
    again = runner.run("sales_star_schema", star)
    assert again["ok"], again
    assert f"curated orders unchanged since the last build ({len(curated_files)} files): nothing to do" in again["output"]
    assert published(again, "sales_star_schema", "sales_star_schema") == {"RowsRead": 0, "RowsWritten": 0}
    assert warehouse_listing(s3, "star/warehouse/") == before

    # A table gone: rebuilt, though the orders are the same.
    s3.delete_objects(Bucket=LAKE, Delete={"Objects": [{"Key": key} for key in keys_under(s3, LAKE, "star/warehouse/dim_country/")]})
    restored = runner.run("sales_star_schema", star)
    assert restored["ok"], restored
    assert published(restored, "sales_star_schema", "sales_star_schema")["RowsRead"] == len(given["orders"])
    assert canonical(rows_as_json(read_parquet(spark, s3, "star/warehouse/dim_country/", tmp_path / "dim_country-again"))) == canonical(expected["dim_country"])

    # One partition of the orders rewritten (Spark names the new file anew): rebuilt from the orders as they are now.
    rewritten = curated_files[0]
    body = s3.get_object(Bucket=LAKE, Key=rewritten)["Body"].read()
    s3.delete_object(Bucket=LAKE, Key=rewritten)
    s3.put_object(Bucket=LAKE, Key=rewritten.rsplit("/", 1)[0] + "/part-00000-rewritten.snappy.parquet", Body=body)
    changed = runner.run("sales_star_schema", star)
    assert changed["ok"], changed
    assert published(changed, "sales_star_schema", "sales_star_schema")["RowsRead"] == len(given["orders"])
    assert warehouse_listing(s3, "star/warehouse/fact_sales/") != {key: value for key, value in before.items() if key.startswith("star/warehouse/fact_sales/")}
    assert json.loads(s3.get_object(Bucket=LAKE, Key="star/state/sales_star_schema/built.json")["Body"].read())["curatedOrders"]["fingerprint"] != state["curatedOrders"]["fingerprint"]

    # A rebuild that fails (a day that is none) leaves no build state: the next run builds again.
    bad_day = spark.createDataFrame([{**curated_input(given["orders"][0]), "invoice_day": "2010-13-45"}], CURATED_ORDERS_DDL)
    put_parquet(spark, s3, bad_day, "star/curated/orders/", tmp_path / "bad-day", "invoice_day")
    failed = runner.run("sales_star_schema", star)
    assert not failed["ok"], failed
    assert keys_under(s3, LAKE, "star/state/") == []

    # A stage with no curated order yet: an empty star, not a failed run.
    empty = runner.run("sales_star_schema", {**star, "CURATED_PREFIX": "nothing/curated/orders/", "WAREHOUSE_PREFIX": "nothing/warehouse/", "STATE_PREFIX": "nothing/state/sales_star_schema/"})
    assert empty["ok"], empty
    assert f"no curated orders under s3://{LAKE}/nothing/curated/orders/: the star schema is empty" in empty["output"]
    assert rows_as_json(read_parquet(spark, s3, "nothing/warehouse/fact_sales/", tmp_path / "empty-fact")) == []
