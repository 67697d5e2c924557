from __future__ import annotations

from riskloop_parquet_sink.buffers import PartitionBuffer


def test_commit_position_never_passes_a_record_that_is_not_archived() -> None:
    buffer = PartitionBuffer(0)
    assert buffer.committable is None and not buffer.needs_commit()
    buffer.skip(0)  # a dead letter, acknowledged
    assert buffer.committable == 1
    buffer.add(1, {"n": 1})
    buffer.skip(2)  # a dead letter behind a buffered record: the commit must wait for the record
    buffer.add(3, {"n": 3})
    assert buffer.committable == 1
    assert buffer.head(1) == ([1], [{"n": 1}])
    buffer.archived(1)
    assert buffer.committable == 3
    buffer.archived(1)  # the same flush reported twice (a rebalance raced it): nothing more is dropped
    assert buffer.committable == 3 and len(buffer) == 1
    buffer.archived(3)
    assert buffer.committable == 4 and len(buffer) == 0


def test_redeliveries_are_recognised() -> None:
    buffer = PartitionBuffer(0)
    buffer.add(5, {})
    assert buffer.seen(5) and buffer.seen(4) and not buffer.seen(6)


def test_a_buffer_is_due_by_size_or_by_the_age_of_its_oldest_record() -> None:
    buffer = PartitionBuffer(0)
    assert not buffer.due(max_records=2, max_seconds=1, now=0)
    buffer.add(0, {})
    assert buffer.opened_at is not None
    assert not buffer.due(max_records=2, max_seconds=10, now=buffer.opened_at)
    assert buffer.due(max_records=2, max_seconds=10, now=buffer.opened_at + 10)
    buffer.add(1, {})
    assert buffer.due(max_records=2, max_seconds=10, now=buffer.opened_at)
