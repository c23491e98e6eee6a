"""campaign_progress: one curated row per (user, campaign, task) of the current user_Campaign and
campaignInfo items, partitioned by the day the user joined the campaign (created_day).

Incremental: a run merges the change objects its state object does not list yet (dynalake_glue
parse_state) and rewrites only the partitions they touch: the days of the changed users (both
images: a MODIFY may move a user), and, when a campaign changed, the days of its users. Users the
run did not change keep their rows, with their campaign's title, deadlines and rewards looked up
again. The current campaigns are part of the job's state (`campaign_info.jsonl.gz`: their latest
change records), because a user's change needs its whole campaign and cdc/ expires. A run with no
new change object reads and writes nothing.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DecimalType, DoubleType, StringType, StructField, StructType

from dynalake_glue import delete_partitions, lake_freshness_seconds, path_exists, pending_changes, publish_job_metrics, s3_path, start_glue_job, state_key, write_bytes_object

JOB = "campaign_progress"
ARGUMENTS = ["JOB_NAME", "LANDING_BUCKET", "LAKE_BUCKET", "USER_CAMPAIGN_CDC_PREFIX", "CAMPAIGN_INFO_CDC_PREFIX", "CURATED_PREFIX", "STATE_PREFIX", "METRICS_NAMESPACE"]
# The campaigns of the job state, beside its state object: their latest change records, in the CDC format.
CAMPAIGNS_STATE_OBJECT = "campaign_info.jsonl.gz"

PARTITION = "created_day"
# Money has at most 2 decimals (whole cents in lambda/shared/campaigns.ts).
MONEY = DecimalType(12, 2)
# Money and times are read as text and converted with a check (_money, _time): Spark's JSON reader
# would round 0.125 to the schema's 2 decimals, and a cast with ANSI mode off (Glue's setting)
# turns a bad time into a null; the DuckDB twin refuses both, and so does the job.
_MONEY_TEXT = StringType()
_SEQUENCE_WIDTH = 64  # sequence numbers padded to one width sort as text as they do as numbers


def _text(name: str) -> StructField:
    return StructField(name, StringType())


def _changes_schema(keys: Sequence[str], image: StructType) -> StructType:
    """A table's change records as read. An explicit schema rather than inference: the JSON reader
    then parses decimals straight from the number's text, whether written 12.5 or "12.5", and
    timestamps stay text until cast."""
    return StructType(
        [
            _text("eventName"),
            StructField("keys", StructType([_text(key) for key in keys])),
            _text("sequenceNumber"),
            StructField("approximateCreationTime", DoubleType()),
            StructField("newImage", image),
            # Where a MODIFY or REMOVE finds the user's partition (createdAt).
            StructField("oldImage", image),
        ]
    )


USER_CAMPAIGN_CHANGES = _changes_schema(
    ["userID", "campaignID"],
    StructType(
        [
            _text("userID"),
            _text("campaignID"),
            StructField(
                "progressDetails",
                ArrayType(
                    StructType(
                        [
                            _text("taskID"),
                            _text("userCampaignTaskProgressState"),
                            _text("validatedAt"),
                            _text("validationFailureReason"),
                            StructField("rewardEarned", _MONEY_TEXT),
                        ]
                    )
                ),
            ),
            _text("userCampaignProgressState"),
            StructField("totalTaskRewardsEarned", _MONEY_TEXT),
            _text("createdAt"),
            _text("updatedAt"),
        ]
    ),
)

CAMPAIGN_INFO_CHANGES = _changes_schema(
    ["campaignID"],
    StructType(
        [
            _text("campaignID"),
            _text("title"),
            StructField(
                "campaignTasks",
                ArrayType(StructType([_text("taskID"), StructField("rewardAmount", _MONEY_TEXT), _text("taskDeadline")])),
            ),
        ]
    ),
)


def latest_records(changes: DataFrame, key_names: Sequence[str]) -> DataFrame:
    """The last change record of each key (greatest sequence number; a tie, which DynamoDB never
    produces, goes to the record read later), REMOVEs included."""
    newest_first = Window.partitionBy(*(F.col("keys")[name] for name in key_names)).orderBy(
        F.lpad("sequenceNumber", _SEQUENCE_WIDTH, "0").desc(), F.col("_read_order").desc()
    )
    return (
        changes.withColumn("_read_order", F.monotonically_increasing_id())
        .withColumn("_rank", F.row_number().over(newest_first))
        .where(F.col("_rank") == 1)
        .drop("_rank", "_read_order")
    )


def latest_images(changes: DataFrame, key_names: Sequence[str]) -> DataFrame:
    """The current items of a table from its changes: the last change of each key, removed items
    left out."""
    return latest_records(changes, key_names).where(F.col("eventName") != "REMOVE").select("newImage.*")


def _money(text: Column, what: Column, name: str) -> Column:
    """Money as DECIMAL(12,2), exactly, or the run fails naming the item, the field and the value."""
    value = text.cast(MONEY)
    ok = text.isNull() | (value.isNotNull() & (text.cast(DecimalType(38, 18)) == value))
    return F.when(ok, value).otherwise(F.raise_error(F.concat(what, F.lit(f"{name} "), text, F.lit(" does not fit DECIMAL(12,2) exactly"))))


def _time(text: Column, what: Column, name: str) -> Column:
    """An ISO-8601 time (with its zone, or UTC) as a timestamp, or the run fails naming the item."""
    value = text.cast("timestamp")
    ok = text.isNull() | value.isNotNull()
    return F.when(ok, value).otherwise(F.raise_error(F.concat(what, F.lit(f"{name} "), text, F.lit(" is not an ISO-8601 time"))))


def _campaign_lookups(campaigns: DataFrame) -> tuple[DataFrame, DataFrame]:
    """A campaign's title by campaign_id, and its listed tasks' deadline and reward by (campaign_id, task_id)."""
    titles = campaigns.select(F.col("campaignID").alias("campaign_id"), F.col("title").alias("campaign_title"))
    what = F.concat(F.lit("campaignInfo "), F.coalesce(F.col("campaign_id"), F.lit("?")), F.lit(": "))
    listed_tasks = campaigns.select(F.col("campaignID").alias("campaign_id"), F.explode("campaignTasks").alias("listed")).select(
        "campaign_id",
        F.col("listed.taskID").alias("task_id"),
        _time(F.col("listed.taskDeadline"), what, "taskDeadline").alias("task_deadline"),
        _money(F.col("listed.rewardAmount"), what, "rewardAmount").alias("reward_amount"),
    )
    return titles, listed_tasks


# The curated table as stored, partition column last (a DDL string, as CURATED_ORDERS_DDL): read
# with it, created_day stays text rather than being inferred a date from the folder names.
CAMPAIGN_PROGRESS_DDL = (
    "user_id STRING, campaign_id STRING, campaign_title STRING, user_campaign_state STRING, total_task_rewards_earned DECIMAL(12,2), "
    "task_id STRING, task_state STRING, validated_at TIMESTAMP, validation_failure_reason STRING, reward_earned DECIMAL(12,2), "
    "task_deadline TIMESTAMP, reward_amount DECIMAL(12,2), created_at TIMESTAMP, updated_at TIMESTAMP, created_day STRING"
)

COLUMNS = [
    "user_id",
    "campaign_id",
    "campaign_title",
    "user_campaign_state",
    "total_task_rewards_earned",
    "task_id",
    "task_state",
    "validated_at",
    "validation_failure_reason",
    "reward_earned",
    "task_deadline",
    "reward_amount",
    "created_at",
    "updated_at",
    PARTITION,
]


def rejoin_campaigns(rows: DataFrame, campaigns: DataFrame) -> DataFrame:
    """Curated rows with their campaign's title and their task's deadline and reward looked up
    again in `campaigns` (a campaign or task no longer there: null, as explode_progress gives)."""
    titles, listed_tasks = _campaign_lookups(campaigns)
    return rows.drop("campaign_title", "task_deadline", "reward_amount").join(titles, "campaign_id", "left").join(listed_tasks, ["campaign_id", "task_id"], "left").select(*COLUMNS)


def _utc_day(created_at: Column) -> Column:
    # The session time zone is UTC, so this is the UTC day of createdAt.
    return F.date_format(created_at.cast("timestamp"), "yyyy-MM-dd")


def touched_days(user_changes: DataFrame, changed_campaigns: list[str], current: DataFrame) -> list[str]:
    """The partitions a batch may change: the createdAt day of every user change's new and old
    image, and the days of `current` (the table) holding users of a changed campaign."""
    summary = user_changes.agg(
        F.collect_set(_utc_day(F.col("newImage.createdAt"))).alias("new"),
        F.collect_set(_utc_day(F.col("oldImage.createdAt"))).alias("old"),
        F.count(F.when((F.col("eventName") != "INSERT") & F.col("oldImage").isNull(), True)).alias("blind"),
    ).first()
    if summary["blind"]:
        raise ValueError(f"{summary['blind']} MODIFY/REMOVE user_Campaign change records have no old image: the stream must send NEW_AND_OLD_IMAGES to locate the users' partitions")
    days = set(summary["new"]) | set(summary["old"])
    if changed_campaigns:
        days |= {row[PARTITION] for row in current.where(F.col("campaign_id").isin(changed_campaigns)).select(PARTITION).distinct().collect()}
    return sorted(days)


def merge_progress(user_changes: DataFrame, campaigns: DataFrame, current: DataFrame, days: list[str]) -> DataFrame:
    """The new content of the partitions `days`: the changed users' rows from their latest images,
    and every other user's rows of those days as they were, their campaign looked up again."""
    changed_users = user_changes.select(F.col("keys.userID").alias("user_id"), F.col("keys.campaignID").alias("campaign_id")).distinct()
    fresh = explode_progress(latest_images(user_changes, ["userID", "campaignID"]), campaigns)
    kept = current.where(F.col(PARTITION).isin(days)).join(changed_users, ["user_id", "campaign_id"], "left_anti")
    return fresh.unionByName(rejoin_campaigns(kept, campaigns))


def explode_progress(user_campaigns: DataFrame, campaigns: DataFrame) -> DataFrame:
    """One row per (user, campaign, task in the user's progressDetails), with the campaign's title
    and the task's deadline and reward as the campaign lists them.

    A user-campaign with no progress keeps one row with null task fields (explode_outer). A task the
    campaign does not list (an "orphan", e.g. removed after users began it) keeps its row with a
    null deadline and reward (left join).
    """
    what = F.concat(F.lit("user_Campaign "), F.coalesce(F.col("userID"), F.lit("?")), F.lit("/"), F.coalesce(F.col("campaignID"), F.lit("?")), F.lit(": "))
    progress = user_campaigns.select(
        F.col("userID").alias("user_id"),
        F.col("campaignID").alias("campaign_id"),
        F.col("userCampaignProgressState").alias("user_campaign_state"),
        _money(F.col("totalTaskRewardsEarned"), what, "totalTaskRewardsEarned").alias("total_task_rewards_earned"),
        _time(F.col("createdAt"), what, "createdAt").alias("created_at"),
        _time(F.col("updatedAt"), what, "updatedAt").alias("updated_at"),
        F.explode_outer("progressDetails").alias("task"),
        what.alias("_what"),
    )
    titles, listed_tasks = _campaign_lookups(campaigns)
    return (
        progress.join(titles, "campaign_id", "left")
        .withColumn("task_id", F.col("task.taskID"))
        .join(listed_tasks, ["campaign_id", "task_id"], "left")
        .select(
            "user_id",
            "campaign_id",
            "campaign_title",
            "user_campaign_state",
            "total_task_rewards_earned",
            "task_id",
            F.col("task.userCampaignTaskProgressState").alias("task_state"),
            _time(F.col("task.validatedAt"), F.col("_what"), "validatedAt").alias("validated_at"),
            F.col("task.validationFailureReason").alias("validation_failure_reason"),
            _money(F.col("task.rewardEarned"), F.col("_what"), "rewardEarned").alias("reward_earned"),
            "task_deadline",
            "reward_amount",
            "created_at",
            "updated_at",
            # The session time zone is UTC, so this is the UTC day of createdAt.
            F.date_format("created_at", "yyyy-MM-dd").alias(PARTITION),
        )
    )


def read_changes(spark: SparkSession, paths: list[str], schema: StructType) -> DataFrame:
    """The change records of the objects `paths` (gzip by suffix), parsed with `schema`."""
    if not paths:
        return spark.createDataFrame([], schema)
    # A record that does not parse fails the run rather than vanish from the lake.
    return spark.read.schema(schema).option("mode", "FAILFAST").json(paths)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # exact; the readers take money as text or number
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _change_object(records: DataFrame) -> bytes:
    """Change records (small: the campaigns) as one CDC-format object: gzip of JSON lines."""
    lines = []
    for row in records.collect():
        record = row.asDict(recursive=True)
        lines.append(json.dumps(record, default=_json_value, sort_keys=True) + "\n")
    return gzip.compress("".join(lines).encode("utf-8"), mtime=0)


def main() -> None:
    started = time.monotonic()
    args, glue_context, spark, job = start_glue_job(sys.argv, ARGUMENTS)
    landing, lake = args["LANDING_BUCKET"], args["LAKE_BUCKET"]
    table = s3_path(lake, args["CURATED_PREFIX"])
    # Beside the state object, under the same prefix.
    campaigns_key = state_key(args["STATE_PREFIX"]).rsplit("/", 1)[0] + "/" + CAMPAIGNS_STATE_OBJECT
    pending = pending_changes(spark, JOB, landing, lake, args["STATE_PREFIX"], [args["USER_CAMPAIGN_CDC_PREFIX"], args["CAMPAIGN_INFO_CDC_PREFIX"]])
    user_new, campaign_new = (change.new for change in pending.changes)
    figures: dict[str, float] = {"ChangeObjectsMerged": len(user_new) + len(campaign_new), "RowsRead": 0, "RowsWritten": 0, "PartitionsRewritten": 0}
    newest = None

    if not (user_new or campaign_new):
        print("no new change objects since the last run: nothing to do")
    else:
        campaigns_url = f"s3://{lake}/{campaigns_key}"
        state_campaigns = read_changes(spark, [campaigns_url] if path_exists(spark, campaigns_url) else [], CAMPAIGN_INFO_CHANGES)
        new_campaign_changes = read_changes(spark, [f"s3://{landing}/{key}" for key in campaign_new], CAMPAIGN_INFO_CHANGES)
        # The state's campaigns first, the new changes after them: a tie goes to the change read later.
        campaign_records = latest_records(state_campaigns.unionByName(new_campaign_changes), ["campaignID"]).cache()
        campaigns = campaign_records.where(F.col("eventName") != "REMOVE").select("newImage.*")
        user_changes = read_changes(spark, [f"s3://{landing}/{key}" for key in user_new], USER_CAMPAIGN_CHANGES).cache()
        changed_campaigns = [row["id"] for row in new_campaign_changes.select(F.col("keys.campaignID").alias("id")).distinct().collect()]
        current = spark.read.schema(CAMPAIGN_PROGRESS_DDL).parquet(table) if path_exists(spark, table) else spark.createDataFrame([], CAMPAIGN_PROGRESS_DDL)
        days = touched_days(user_changes, changed_campaigns, current)
        [newest] = user_changes.select("approximateCreationTime").unionByName(new_campaign_changes.select("approximateCreationTime")).agg(F.max("approximateCreationTime")).first()
        figures.update(RowsRead=current.where(F.col(PARTITION).isin(days)).count(), PartitionsRewritten=len(days))
        # Computed once, before the write replaces the partitions it reads.
        rows = merge_progress(user_changes, campaigns, current, days).persist()
        written = {row[PARTITION]: row["count"] for row in rows.groupBy(PARTITION).count().collect()}
        figures["RowsWritten"] = sum(written.values())
        (
            rows.repartition(PARTITION)  # one file per day
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")  # only the days written; the others stay
            .partitionBy(PARTITION)
            .parquet(table)
        )
        delete_partitions(spark, table, PARTITION, [day for day in days if day not in written])
        rows.unpersist()
        if campaign_new:
            write_bytes_object(spark, lake, campaigns_key, _change_object(campaign_records.where(F.col("eventName") != "REMOVE")))
        campaign_records.unpersist()
        user_changes.unpersist()
        objects = len(user_new) + len(campaign_new)
        print(f"merged {objects} new change object{'' if objects == 1 else 's'}: {len(days)} partitions rewritten ({len(days) - len(written)} left empty, deleted)")

    # Only now that the partitions and the campaigns are in place: a crash before this line merges the same objects again.
    pending.save()
    job.commit()
    # After the commit: the figures describe output that is in place.
    figures.update(LakeFreshnessSeconds=lake_freshness_seconds(newest, time.time()), RunDurationSeconds=round(time.monotonic() - started, 3))
    publish_job_metrics(args["METRICS_NAMESPACE"], JOB, JOB, figures)


if __name__ == "__main__":
    main()
