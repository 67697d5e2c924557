from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from riskloop_features.transactions import TRANSACTION_SCHEMA
from riskloop_streaming.decoding import DecodeError, decode_transaction, encode_transaction, transactions_table
from riskloop_streaming.testing import sample_transaction


def wire(**changes: object) -> bytes:
    record = json.loads(encode_transaction(sample_transaction(1)))
    for name, value in changes.items():
        if value is ...:
            del record[name]
        else:
            record[name] = value
    return json.dumps(record).encode()


def test_a_valid_message_round_trips_into_the_schema() -> None:
    record = sample_transaction(3, at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC))
    decoded = decode_transaction(encode_transaction(record))
    assert decoded == record
    assert transactions_table([decoded]).schema == TRANSACTION_SCHEMA


def test_z_suffix_and_offsets_are_normalised_to_utc() -> None:
    decoded = decode_transaction(wire(event_timestamp="2026-03-01T13:00:00+01:00"))
    assert not isinstance(decoded, DecodeError)
    assert decoded["event_timestamp"] == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert not isinstance(decode_transaction(wire(event_timestamp="2026-03-01T12:00:00Z")), DecodeError)


def test_each_broken_contract_has_its_own_reason() -> None:
    cases = {
        b"{not json": "bad_json",
        b"[1, 2]": "not_object",
        wire(amount=...): "missing_field",
        wire(user_id=None): "null_field",
        wire(tickets="2"): "wrong_type",
        wire(tickets=2.5): "wrong_type",
        wire(tickets=True): "wrong_type",
        wire(amount="12.0"): "wrong_type",
        wire(event_timestamp="yesterday"): "wrong_type",
        wire(event_timestamp="2026-03-01T12:00:00"): "wrong_type",  # naive: which zone?
        wire(tickets=2**40): "out_of_range",
        wire(is_fraud=True): "unexpected_field",
    }
    for payload, kind in cases.items():
        result = decode_transaction(payload)
        assert isinstance(result, DecodeError), payload
        assert result.kind == kind, (payload, result)
    assert "'amount'" in decode_transaction(wire(amount=...)).reason  # type: ignore[union-attr]


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    decoded = decode_transaction(wire(amount=30, unit_price=10))
    assert not isinstance(decoded, DecodeError)
    assert transactions_table([decoded]).column("amount").to_pylist() == [30.0]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    result = decode_transaction(payload)
    assert isinstance(result, (dict, DecodeError))
