"""The event catalog (capacities) the event view needs, read from where the ticketing export puts it."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq

from riskloop_config.settings import S3Settings
from riskloop_features.transactions import EVENT_CATALOG_SCHEMA
from riskloop_streaming.objects import bucket_filesystem

log = logging.getLogger(__name__)

# Beside the raw transactions in the raw-events bucket, as the simulator and the ticketing export write it.
CATALOG_PATH = "events/events.parquet"


def load_catalog(s3: S3Settings) -> pa.Table:
    """EVENT_CATALOG_SCHEMA rows; empty (inventory and sell-through then stay null) when none was exported yet."""
    filesystem, root = bucket_filesystem(s3, s3.raw_events_bucket)
    path = f"{root}/{CATALOG_PATH}"
    if filesystem.get_file_info(path).type.name == "NotFound":
        log.warning("no event catalog; inventory and sell-through will be null", extra={"path": path})
        return EVENT_CATALOG_SCHEMA.empty_table()
    return pq.read_table(path, filesystem=filesystem).cast(EVENT_CATALOG_SCHEMA)
