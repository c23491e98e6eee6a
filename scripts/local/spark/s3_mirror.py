"""A local mirror of S3 buckets, kept in step with the embedded S3 through its API.

The local Spark cannot reach s3rver (S3A needs jars this project does not ship), so `s3://bucket/`
paths are mounted on a folder per bucket (local_glue.py) and this mirror moves objects between the
folder and S3, as the DuckDB twins move theirs: `pull` before a job run (download what changed in
S3, drop what S3 no longer has), `push` after it (upload what the job wrote, delete what it
deleted). A manifest remembers each object's ETag and the local file's size and mtime, so only
changes cross. Objects other writers put in S3 during a run are left alone by `push`.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Files the local filesystem makes that are not objects: Hadoop's checksum siblings and the
# commit protocol's work folders.
_NOT_OBJECTS = ("_temporary", ".spark-staging")
_WORKERS = 8


def _is_object_file(relative: str) -> bool:
    parts = relative.split("/")
    name = parts[-1]
    if name.startswith(".") and name.endswith(".crc"):
        return False
    return not any(part in _NOT_OBJECTS or part.startswith(".spark-staging") for part in parts)


@dataclass
class SyncCounts:
    downloaded: int = 0
    uploaded: int = 0
    deleted: int = 0


class S3Mirror:
    def __init__(self, root: Path, buckets: list[str], client: Any) -> None:
        self.root = root
        self.buckets = list(buckets)
        self.client = client
        self.root.mkdir(parents=True, exist_ok=True)

    def folder(self, bucket: str) -> Path:
        return self.root / "buckets" / bucket

    def _manifest_path(self, bucket: str) -> Path:
        return self.root / "manifests" / f"{bucket}.json"

    def _load(self, bucket: str) -> dict[str, list[Any]]:
        path = self._manifest_path(bucket)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def _save(self, bucket: str, manifest: dict[str, list[Any]]) -> None:
        path = self._manifest_path(bucket)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
        temporary.replace(path)

    def _local_files(self, bucket: str) -> dict[str, os.stat_result]:
        folder = self.folder(bucket)
        found: dict[str, os.stat_result] = {}
        if not folder.exists():
            return found
        for directory, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(directory) / name
                relative = path.relative_to(folder).as_posix()
                if _is_object_file(relative):
                    found[relative] = path.stat()
        return found

    def _listing(self, bucket: str) -> dict[str, tuple[str, int]]:
        """Each object's ETag and size."""
        objects: dict[str, tuple[str, int]] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                objects[item["Key"]] = (item["ETag"], int(item.get("Size", 0)))
        return objects

    def pull(self) -> SyncCounts:
        """Makes every bucket folder what S3 holds now."""
        counts = SyncCounts()
        for bucket in self.buckets:
            folder = self.folder(bucket)
            folder.mkdir(parents=True, exist_ok=True)
            manifest = self._load(bucket)
            local = self._local_files(bucket)
            listing = self._listing(bucket)
            fetch = [
                key
                for key, (etag, _size) in listing.items()
                if key not in local or manifest.get(key, [None])[0] != etag or manifest[key][1:] != [local[key].st_size, local[key].st_mtime_ns]
            ]

            def download(key: str) -> None:
                path = folder / key
                path.parent.mkdir(parents=True, exist_ok=True)
                if listing[key][1] == 0:
                    # An empty object (a DynamoDB export's _started, Spark's _SUCCESS): download_file
                    # fails on one from s3rver ("0 read, but total bytes expected is 1").
                    path.write_bytes(b"")
                else:
                    self.client.download_file(bucket, key, str(path))

            with ThreadPoolExecutor(_WORKERS) as pool:
                list(pool.map(download, fetch))
            for key in local:
                if key not in listing:
                    (folder / key).unlink()
                    counts.deleted += 1
            _remove_checksums_and_empty_folders(folder)
            fresh = self._local_files(bucket)
            self._save(bucket, {key: [etag, fresh[key].st_size, fresh[key].st_mtime_ns] for key, (etag, _size) in listing.items() if key in fresh})
            counts.downloaded += len(fetch)
        return counts

    def push(self) -> SyncCounts:
        """Sends S3 what changed in the bucket folders since the last pull."""
        counts = SyncCounts()
        for bucket in self.buckets:
            folder = self.folder(bucket)
            manifest = self._load(bucket)
            local = self._local_files(bucket)
            changed = [key for key, stat in local.items() if manifest.get(key, [None, None, None])[1:] != [stat.st_size, stat.st_mtime_ns]]
            gone = [key for key in manifest if key not in local]

            def upload(key: str) -> tuple[str, str]:
                with (folder / key).open("rb") as body:
                    response = self.client.put_object(Bucket=bucket, Key=key, Body=body)
                return key, response["ETag"]

            with ThreadPoolExecutor(_WORKERS) as pool:
                for key, etag in pool.map(upload, changed):
                    manifest[key] = [etag, local[key].st_size, local[key].st_mtime_ns]
                for key in gone:
                    self.client.delete_object(Bucket=bucket, Key=key)
                    del manifest[key]
            self._save(bucket, manifest)
            counts.uploaded += len(changed)
            counts.deleted += len(gone)
        return counts


def _remove_checksums_and_empty_folders(folder: Path) -> None:
    """Checksums of files since replaced would fail Hadoop's reads; an empty folder would exist for
    Spark where S3 has nothing."""
    for directory, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            if name.startswith(".") and name.endswith(".crc"):
                (Path(directory) / name).unlink()
        if Path(directory) != folder and not any(Path(directory).iterdir()):
            Path(directory).rmdir()
