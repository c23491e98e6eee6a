"""Runs the dynalake Glue scripts, unchanged, on a local Spark against the embedded S3 and DynamoDB.

    .venv/bin/python scripts/local/spark/local_glue.py --mirror DIR --bucket NAME [--bucket NAME ...]

One Spark session serves every run of the process (Spark's start-up is paid once, not per job).
Requests come one per line on stdin, answers go one per line to file descriptor 3 (stdout and
stderr carry Spark's own output):

    {"id": 1, "script": "/abs/asset.<hash>.py", "extra_py_files": ["/abs/<hash>.zip"],
     "arguments": {"--JOB_NAME": "...", "--LAKE_BUCKET": "...", ...}}
    {"id": 1, "ok": true, "seconds": 3.2, "downloaded": 4, "uploaded": 2, "deleted": 1,
     "items_written": 0, "committed": true, "output": ["what the script printed", ...]}
    {"id": 1, "ok": false, "error": "UnitPrice 0.0015 does not fit DECIMAL(12,3) exactly", ...}

Laid out as Glue lays out a job run, from the synthesized template (scripts/local/glue/job-layout.ts):
the script runs as `__main__` with `sys.argv` = the script, then the arguments as `--NAME value`
pairs; each extra Python file is on the driver's path as Glue puts it there (a .zip as it is, a .py
under its S3 object name) and shipped to the Python workers (SparkContext.addPyFile), as
`--extra-py-files` does. Modules imported from them are forgotten after the run, so each run
imports them as a fresh Glue job would.
The S3 and DynamoDB endpoints come from AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_DYNAMODB.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import runpy
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the awsglue stand-in, for the scripts' `from awsglue... import`

from s3_mirror import S3Mirror  # noqa: E402


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    # Path-style (s3rver has no virtual hosts); checksums only where required, since s3rver would
    # store aws-chunked framing as the object's data.
    config = Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required", response_checksum_validation="when_required", retries={"max_attempts": 3})
    return boto3.client("s3", region_name=os.environ.get("AWS_REGION", "us-east-1"), config=config)


def spark_session(buckets: list[str], mirror: S3Mirror) -> Any:
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(os.environ.get("DYNALAKE_SPARK_MASTER", "local[2]"))
        .appName("dynalake-local-glue")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("DYNALAKE_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.driver.memory", os.environ.get("DYNALAKE_SPARK_DRIVER_MEMORY", "2g"))
        # Glue 5.0 runs Spark 3.5 with ANSI mode off, Spark's default: a bad cast is a null there too.
        .config("spark.sql.ansi.enabled", "false")
        # s3://<bucket>/... resolves to the bucket's mirror folder (Hadoop's view file system with the
        # s3 scheme overloaded), so the scripts keep their S3 paths.
        .config("spark.hadoop.fs.s3.impl", "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme")
        .config("spark.hadoop.fs.s3.impl.disable.cache", "true")
    )
    for bucket in buckets:
        builder = builder.config(f"spark.hadoop.fs.viewfs.mounttable.{bucket}.linkFallback", mirror.folder(bucket).resolve().as_uri())
    return builder.getOrCreate()


def error_message(error: BaseException) -> str:
    """The first line that says what went wrong, without the JVM's stack."""
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else str(error) or type(error).__name__
    for line in text.splitlines():
        line = line.strip()
        if line:
            # Spark's raise_error: "[USER_RAISED_EXCEPTION] <message> SQLSTATE: P0001"
            for prefix in ("org.apache.spark.SparkRuntimeException: ", "[USER_RAISED_EXCEPTION] "):
                if line.startswith(prefix):
                    line = line[len(prefix) :]
            # PySpark 3.5 (Glue 5.0's): raise_error in a task ends the stage failure's one line,
            # "...Job aborted due to stage failure: ... (executor driver): java.lang.RuntimeException: <message>".
            line = line.rsplit("java.lang.RuntimeException: ", 1)[-1]
            return line.removesuffix(" SQLSTATE: P0001").strip()
    return type(error).__name__


class RecordedCloudWatch:
    """CloudWatch for the jobs run here, which has none: PutMetricData keeps each datum, with its
    namespace, for the run's answer (the figures a job would publish on Glue)."""

    def __init__(self) -> None:
        self.metric_data: list[dict[str, Any]] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's parameter names
        self.metric_data.extend({"Namespace": Namespace, **datum} for datum in MetricData)
        return {}


class LocalGlue:
    def __init__(self, mirror_dir: Path, buckets: list[str]) -> None:
        self.mirror = S3Mirror(mirror_dir, buckets, s3_client())
        self.buckets = buckets
        started = time.perf_counter()
        self.spark = spark_session(buckets, self.mirror)
        self.spark.sparkContext.setLogLevel("ERROR")
        self.startup_seconds = time.perf_counter() - started
        self._shipped: set[str] = set()

    def run(self, script: str, arguments: dict[str, str], extra_py_files: list[str]) -> dict[str, Any]:
        import awsglue.context
        import boto3

        started = time.perf_counter()
        result: dict[str, Any] = {"ok": False}
        pulled = self.mirror.pull()
        contexts: list[Any] = []
        original_init = awsglue.context.GlueContext.__init__

        def recording_init(context: Any, spark_context: Any) -> None:
            original_init(context, spark_context)
            contexts.append(context)

        saved_argv, saved_path, saved_modules = sys.argv, list(sys.path), set(sys.modules)
        printed = io.StringIO()
        # The jobs' boto3 CloudWatch client is the recorder; any other client is boto3's own.
        cloudwatch = RecordedCloudWatch()
        boto3_client = boto3.client

        def client(service_name: str, *args: Any, **kwargs: Any) -> Any:
            return cloudwatch if service_name == "cloudwatch" else boto3_client(service_name, *args, **kwargs)

        try:
            boto3.client = client  # type: ignore[assignment]
            for path in extra_py_files:
                # Glue puts an archive on the path as it is, and a .py under its own (S3) name.
                entry = path if path.endswith((".zip", ".whl", ".egg")) else str(Path(path).resolve().parent)
                if entry not in sys.path:
                    sys.path.insert(0, entry)
                if path not in self._shipped:
                    self.spark.sparkContext.addPyFile(path)
                    self._shipped.add(path)
            sys.argv = [script, *[token for name, value in arguments.items() for token in (name, value)]]
            awsglue.context.GlueContext.__init__ = recording_init  # type: ignore[method-assign]
            # What the script prints is its log on Glue (the driver's stdout); here it is the run's report.
            with contextlib.redirect_stdout(printed):
                runpy.run_path(script, run_name="__main__")
            result["ok"] = True
        except SystemExit as error:
            result["ok"] = error.code in (None, 0)
            if not result["ok"]:
                result["error"] = f"the script exited with {error.code}"
        except BaseException as error:  # noqa: BLE001 - every failure is the run's answer
            result["error"] = error_message(error)
            result["traceback"] = traceback.format_exc(limit=8)
        finally:
            boto3.client = boto3_client  # type: ignore[assignment]
            awsglue.context.GlueContext.__init__ = original_init  # type: ignore[method-assign]
            sys.argv, sys.path[:] = saved_argv, saved_path
            for name in set(sys.modules) - saved_modules:
                if any(str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(Path(path).parent)) for path in extra_py_files):
                    del sys.modules[name]
            self.spark.catalog.clearCache()
        # What the run wrote is in S3 whether it succeeded or not, as on Glue.
        pushed = self.mirror.push()
        result.update(
            seconds=round(time.perf_counter() - started, 3),
            downloaded=pulled.downloaded,
            uploaded=pushed.uploaded,
            deleted=pushed.deleted,
            items_written=sum(context.items_written for context in contexts),
            output=printed.getvalue().splitlines()[-20:],
            committed=any(job.committed for context in contexts for job in context._jobs),
            metrics=cloudwatch.metric_data,
        )
        return result

    def stop(self) -> None:
        self.spark.stop()


def serve(glue: LocalGlue, requests: Any, answers: Any) -> None:
    answers.write(json.dumps({"ready": True, "startup_seconds": round(glue.startup_seconds, 3)}) + "\n")
    answers.flush()
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        answer = glue.run(request["script"], dict(request.get("arguments", {})), list(request.get("extra_py_files", [])))
        answers.write(json.dumps({"id": request.get("id"), **answer}) + "\n")
        answers.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", required=True, help="folder of the buckets' local mirror")
    parser.add_argument("--bucket", action="append", required=True, help="a bucket the jobs may read or write (repeat)")
    options = parser.parse_args()
    glue = LocalGlue(Path(options.mirror), options.bucket)
    try:
        with os.fdopen(3, "w", encoding="utf-8") as answers:
            serve(glue, sys.stdin, answers)
    finally:
        glue.stop()


if __name__ == "__main__":
    main()
