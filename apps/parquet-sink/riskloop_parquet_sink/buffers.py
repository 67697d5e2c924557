"""What the sink holds for one Kafka partition between flushes, and which offset it may commit."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PartitionBuffer:
    """Decoded records not yet archived, plus the commit position: the first offset not yet safely handled
    (archived, or dead-lettered with an acknowledgement)."""

    partition: int
    offsets: list[int] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    next_offset: int | None = None
    committed: int | None = None
    opened_at: float | None = None

    def __len__(self) -> int:
        return len(self.records)

    def seen(self, offset: int) -> bool:
        """Already handled: a redelivery after a seek or a rebalance."""
        return self.next_offset is not None and offset < self.next_offset

    def add(self, offset: int, record: dict[str, Any]) -> None:
        if not self.records:
            self.opened_at = time.monotonic()
        self.offsets.append(offset)
        self.records.append(record)
        self.next_offset = offset + 1

    def skip(self, offset: int) -> None:
        """The message at `offset` is dealt with elsewhere (dead-lettered and acknowledged)."""
        self.next_offset = offset + 1

    def due(self, *, max_records: int, max_seconds: float, now: float) -> bool:
        if not self.records:
            return False
        assert self.opened_at is not None
        return len(self.records) >= max_records or now - self.opened_at >= max_seconds

    def head(self, count: int) -> tuple[list[int], list[dict[str, Any]]]:
        """The oldest `count` buffered records and their offsets (still buffered until `archived`)."""
        return self.offsets[:count], self.records[:count]

    def archived(self, last_offset: int) -> None:
        """Records up to `last_offset` are in the archive: drop them (only then may the commit move past them).
        By offset, not by count, so that a flush racing a rebalance's flush of the same records is harmless."""
        done = bisect.bisect_right(self.offsets, last_offset)
        del self.offsets[:done], self.records[:done]
        if not self.records:
            self.opened_at = None  # otherwise the oldest remaining record keeps waiting since it arrived

    @property
    def committable(self) -> int | None:
        return self.offsets[0] if self.offsets else self.next_offset

    def needs_commit(self) -> bool:
        return self.committable is not None and self.committable != self.committed
