"""The values the worker passes between its stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa


@dataclass(frozen=True)
class FeatureRows:
    """One view's changed entities as of one moment: what a single online-store write carries."""

    view: str
    rows: pa.Table
    as_of: datetime


@dataclass(frozen=True)
class Intake:
    """What one micro-batch of messages turned into."""

    accepted: int
    already_replayed: int
    dead_lettered: int
