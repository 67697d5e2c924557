"""The raw-events archive: Parquet files under `<bucket>/transactions/dt=YYYY-MM-DD/`, on S3 or a local folder.

A file is named after the Kafka offsets it holds, `p{partition:03d}-o{first:012d}-{last:012d}.parquet`, so
replaying offsets that were written but not committed rewrites the same names instead of adding copies.
When a replay cuts its files at other offsets than the first run did, the files it supersedes (same
partition, first offset inside the new flush) are deleted after the new one is written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from riskloop_config.settings import S3Settings
from riskloop_streaming.decoding import transactions_table
from riskloop_streaming.objects import bucket_filesystem

TABLE_DIR = "transactions"
_NAME = re.compile(r"^p(\d{3})-o(\d{12})-(\d{12})\.parquet$")


@dataclass(frozen=True)
class ArchivedFile:
    path: str
    rows: int
    first_offset: int
    last_offset: int


def file_name(partition: int, first_offset: int, last_offset: int) -> str:
    return f"p{partition:03d}-o{first_offset:012d}-{last_offset:012d}.parquet"


class ParquetArchive:
    """Writes one partition's flushed records, split by event day, each day's rows to one file."""

    def __init__(self, filesystem: pafs.FileSystem, root: str, *, atomic_rename: bool = False) -> None:
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self._atomic_rename = atomic_rename

    @classmethod
    def from_settings(cls, s3: S3Settings) -> ParquetArchive:
        filesystem, root = bucket_filesystem(s3, s3.raw_events_bucket)
        # Object stores publish an upload whole; a local folder needs write-then-rename for that.
        return cls(filesystem, root, atomic_rename=s3.backend == "local")

    @property
    def table_root(self) -> str:
        return f"{self.root}/{TABLE_DIR}"

    def write(self, partition: int, offsets: list[int], records: list[dict[str, Any]]) -> list[ArchivedFile]:
        """Write `records` (decoded, with their Kafka `offsets`, ascending) of one partition."""
        if not records:
            return []
        by_day: dict[str, list[int]] = defaultdict(list)
        for index, record in enumerate(records):
            by_day[record["event_timestamp"].strftime("%Y-%m-%d")].append(index)
        flush_first, flush_last = offsets[0], offsets[-1]
        written = []
        for day, indexes in sorted(by_day.items()):
            directory = f"{self.table_root}/dt={day}"
            name = file_name(partition, offsets[indexes[0]], offsets[indexes[-1]])
            table = transactions_table([records[i] for i in indexes])
            self._put(directory, name, table)
            self._drop_superseded(directory, name, partition, flush_first, flush_last)
            written.append(
                ArchivedFile(f"{directory}/{name}", table.num_rows, offsets[indexes[0]], offsets[indexes[-1]])
            )
        return written

    def _put(self, directory: str, name: str, table: pa.Table) -> None:
        self.filesystem.create_dir(directory, recursive=True)
        if not self._atomic_rename:
            pq.write_table(table, f"{directory}/{name}", filesystem=self.filesystem)
            return
        staging = f"{directory}/.{name}.tmp"  # dot files are invisible to pyarrow.dataset readers
        pq.write_table(table, staging, filesystem=self.filesystem)
        self.filesystem.move(staging, f"{directory}/{name}")

    def _drop_superseded(self, directory: str, keep: str, partition: int, first: int, last: int) -> None:
        listing = self.filesystem.get_file_info(pafs.FileSelector(directory, allow_not_found=True))
        for info in listing:
            match = _NAME.match(info.base_name)
            if match is None or info.base_name == keep or int(match.group(1)) != partition:
                continue
            if first <= int(match.group(2)) <= last:
                self.filesystem.delete_file(info.path)
