"""campaign_progress: one curated row per (user, campaign, task) from the user_Campaign and
campaignInfo tables, partitioned by the day the user joined the campaign (created_day).

Every run recomputes the whole table from the complete change history of both tables (every CDC
object, no job bookmark) and overwrites it. The campaign tables are small, and a full recompute
needs no merge logic and repairs itself: whatever the last run did, this run's output is right.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DecimalType, StringType, StructField, StructType

from dynalake_glue import s3_path, start_glue_job

ARGUMENTS = ["JOB_NAME", "LANDING_BUCKET", "LAKE_BUCKET", "USER_CAMPAIGN_CDC_PREFIX", "CAMPAIGN_INFO_CDC_PREFIX", "CURATED_PREFIX"]

PARTITION = "created_day"
# Money has at most 2 decimals (whole cents in lambda/shared/campaigns.ts).
MONEY = DecimalType(12, 2)
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
            StructField("newImage", image),
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
                            StructField("rewardEarned", MONEY),
                        ]
                    )
                ),
            ),
            _text("userCampaignProgressState"),
            StructField("totalTaskRewardsEarned", MONEY),
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
                ArrayType(StructType([_text("taskID"), StructField("rewardAmount", MONEY), _text("taskDeadline")])),
            ),
        ]
    ),
)


def latest_images(changes: DataFrame, key_names: Sequence[str]) -> DataFrame:
    """The table's current items from its change history: the last change of each key (greatest
    sequence number; a tie, which DynamoDB never produces, goes to the record read later), with
    removed items left out."""
    newest_first = Window.partitionBy(*(F.col("keys")[name] for name in key_names)).orderBy(
        F.lpad("sequenceNumber", _SEQUENCE_WIDTH, "0").desc(), F.col("_read_order").desc()
    )
    return (
        changes.withColumn("_read_order", F.monotonically_increasing_id())
        .withColumn("_rank", F.row_number().over(newest_first))
        .where((F.col("_rank") == 1) & (F.col("eventName") != "REMOVE"))
        .select("newImage.*")
    )


def explode_progress(user_campaigns: DataFrame, campaigns: DataFrame) -> DataFrame:
    """One row per (user, campaign, task in the user's progressDetails), with the campaign's title
    and the task's deadline and reward as the campaign lists them.

    A user-campaign with no progress keeps one row with null task fields (explode_outer). A task the
    campaign does not list (an "orphan", e.g. removed after users began it) keeps its row with a
    null deadline and reward (left join).
    """
    progress = user_campaigns.select(
        F.col("userID").alias("user_id"),
        F.col("campaignID").alias("campaign_id"),
        F.col("userCampaignProgressState").alias("user_campaign_state"),
        F.col("totalTaskRewardsEarned").alias("total_task_rewards_earned"),
        F.col("createdAt").cast("timestamp").alias("created_at"),
        F.col("updatedAt").cast("timestamp").alias("updated_at"),
        F.explode_outer("progressDetails").alias("task"),
    )
    titles = campaigns.select(F.col("campaignID").alias("campaign_id"), F.col("title").alias("campaign_title"))
    listed_tasks = campaigns.select(F.col("campaignID").alias("campaign_id"), F.explode("campaignTasks").alias("listed")).select(
        "campaign_id",
        F.col("listed.taskID").alias("task_id"),
        F.col("listed.taskDeadline").cast("timestamp").alias("task_deadline"),
        F.col("listed.rewardAmount").alias("reward_amount"),
    )
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
            F.col("task.validatedAt").cast("timestamp").alias("validated_at"),
            F.col("task.validationFailureReason").alias("validation_failure_reason"),
            F.col("task.rewardEarned").alias("reward_earned"),
            "task_deadline",
            "reward_amount",
            "created_at",
            "updated_at",
            # The session time zone is UTC, so this is the UTC day of createdAt.
            F.date_format("created_at", "yyyy-MM-dd").alias(PARTITION),
        )
    )


def read_changes(spark: SparkSession, path: str, schema: StructType) -> DataFrame:
    """Every change record under `path` (a table's CDC prefix), parsed with `schema`."""
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    if not hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hadoop_path):
        return spark.createDataFrame([], schema)  # no change yet: the table is empty
    return (
        spark.read.schema(schema)
        # Every object under the prefix, whatever dt= folder it sits in (gzip by its .gz suffix).
        .option("recursiveFileLookup", "true")
        # A record that does not parse fails the run rather than vanish from the lake.
        .option("mode", "FAILFAST")
        .json(path)
    )


def main() -> None:
    args, glue_context, spark, job = start_glue_job(sys.argv, ARGUMENTS)
    landing = args["LANDING_BUCKET"]
    user_campaigns = latest_images(read_changes(spark, s3_path(landing, args["USER_CAMPAIGN_CDC_PREFIX"]), USER_CAMPAIGN_CHANGES), ["userID", "campaignID"])
    campaigns = latest_images(read_changes(spark, s3_path(landing, args["CAMPAIGN_INFO_CDC_PREFIX"]), CAMPAIGN_INFO_CHANGES), ["campaignID"])
    (
        explode_progress(user_campaigns, campaigns)
        .repartition(PARTITION)  # one file per day
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "static")  # replace the whole table, days that vanished included
        .partitionBy(PARTITION)
        .parquet(s3_path(args["LAKE_BUCKET"], args["CURATED_PREFIX"]))
    )
    job.commit()


if __name__ == "__main__":
    main()
