"""Raw transaction messages (JSON objects with exactly TRANSACTION_SCHEMA's fields) to Python records.

A message that does not meet the contract becomes a `DecodeError` value, not an exception: the caller
routes it to the dead-letter topic with its reason and keeps the stream flowing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from riskloop_features.transactions import TRANSACTION_SCHEMA

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class DecodeError:
    """Why a message is not a transaction. `kind` is a short, bounded label (for metrics); `reason` is for people."""

    kind: str
    reason: str


def _checker(arrow_type: pa.DataType) -> tuple[str, type | tuple[type, ...]]:
    if pa.types.is_string(arrow_type):
        return "a string", str
    if pa.types.is_integer(arrow_type):
        return "an integer", int
    if pa.types.is_floating(arrow_type):
        return "a number", (int, float)
    if pa.types.is_timestamp(arrow_type):
        return "an ISO-8601 timestamp string", str
    raise TypeError(f"no JSON rule for {arrow_type}")


# Built once from the schema, so a new field in the contract needs no change here.
_FIELDS: tuple[tuple[str, str, type | tuple[type, ...]], ...] = tuple(
    (field.name, *_checker(field.type)) for field in TRANSACTION_SCHEMA
)
_NAMES = frozenset(name for name, _, _ in _FIELDS)
_TIMESTAMP_FIELDS = frozenset(f.name for f in TRANSACTION_SCHEMA if pa.types.is_timestamp(f.type))
_INTEGER_FIELDS = frozenset(f.name for f in TRANSACTION_SCHEMA if pa.types.is_integer(f.type))


def parse_timestamp(text: str) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text with an offset (`Z` or `+00:00`); None if naive or malformed."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def decode_transaction(payload: bytes | None) -> dict[str, Any] | DecodeError:
    """A record ready for `pa.Table.from_pylist(rows, schema=TRANSACTION_SCHEMA)`, or why it is not one."""
    if payload is None:
        return DecodeError("empty", "message has no value")
    try:
        record = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        return DecodeError("bad_json", f"not JSON: {exc}")
    if not isinstance(record, dict):
        return DecodeError("not_object", f"expected a JSON object, got {type(record).__name__}")
    for name, expected, types in _FIELDS:
        value = record.get(name)
        if value is None:
            if name in record:
                return DecodeError("null_field", f"field {name!r} is null")
            return DecodeError("missing_field", f"missing field {name!r}")
        # bool is an int in Python but not in the contract.
        if not isinstance(value, types) or isinstance(value, bool):
            return DecodeError("wrong_type", f"field {name!r} must be {expected}, got {type(value).__name__}")
    if len(record) != len(_NAMES):
        extra = sorted(set(record) - _NAMES)
        return DecodeError("unexpected_field", f"unexpected fields {extra}")
    for name in _TIMESTAMP_FIELDS:
        moment = parse_timestamp(record[name])
        if moment is None:
            return DecodeError("wrong_type", f"field {name!r} must be an ISO-8601 timestamp with an offset")
        record[name] = moment
    for name in _INTEGER_FIELDS:
        if not _INT32_MIN <= record[name] <= _INT32_MAX:
            return DecodeError("out_of_range", f"field {name!r} does not fit a 32-bit integer")
    return record


def encode_transaction(record: dict[str, Any]) -> bytes:
    """The wire form of a record (the inverse of `decode_transaction`): JSON, timestamps as ISO-8601 UTC."""
    wire = {
        name: (value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value)
        for name, value in record.items()
    }
    return json.dumps(wire, separators=(",", ":")).encode()


def transactions_table(records: list[dict[str, Any]]) -> pa.Table:
    """Decoded records as a TRANSACTION_SCHEMA table."""
    # Column by column: about 3x faster than from_pylist, which matters at stream rates.
    columns = {name: [record[name] for record in records] for name in TRANSACTION_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=TRANSACTION_SCHEMA)
