from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from riskloop_features.transactions import TRANSACTION_SCHEMA
from riskloop_streaming.decoding import (
    DecodeError,
    decode_transaction,
    decode_transactions,
    encode_transaction,
    transactions_table,
)
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


def test_an_integer_past_what_a_float_holds_exactly_becomes_the_nearest_float() -> None:
    # Found by the batch property below: kept an int, it made Arrow refuse the table (an exception).
    huge = wire(amount=2**53 + 1)
    decoded = decode_transaction(huge)
    assert not isinstance(decoded, DecodeError) and decoded["amount"] == float(2**53), decoded
    assert decode_transactions([huge])[0].column("amount").to_pylist() == [float(2**53)]  # Arrow's parse
    assert decode_transactions([huge, b"{}"])[0].column("amount").to_pylist() == [float(2**53)]  # one by one
    too_large = decode_transaction(wire(amount=10**400))
    assert isinstance(too_large, DecodeError) and too_large.kind == "out_of_range", too_large


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    result = decode_transaction(payload)
    assert isinstance(result, (dict, DecodeError))


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        [
            "2026-03-01T12:00:00Z",
            "2026-03-01T12:00:00.250+01:00",
            "2026-03-01T12:00:00",
            "2026-03-01 12:00:00+00:00",
            "2026-03-01T12:00:00+0000",
            "20260301T120000Z",
        ]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def messages(draw: st.DrawFn) -> bytes | None:
    """A valid message, or one with a field changed, removed or added, or its bytes broken."""
    record = json.loads(encode_transaction(sample_transaction(draw(st.integers(0, 10_000)))))
    change = draw(st.sampled_from(["none", "none", "value", "remove", "add", "bytes"]))
    name = draw(st.sampled_from(sorted(record)))
    if change == "value":
        record[name] = draw(JSON_VALUES)
    elif change == "remove":
        del record[name]
    elif change == "add":
        record[draw(st.sampled_from(["extra", "is_fraud"]))] = draw(JSON_VALUES)
    payload = json.dumps(record).encode()
    if change != "bytes":
        return payload
    broken = [
        payload + b" " + payload,
        payload.replace(b", ", b",\n", 1),
        b"",
        b"  ",
        b"\xef\xbb\xbf" + payload,
        payload[:-1],
        payload + b"\xff",
        None,
    ]
    return draw(st.sampled_from(broken))


@settings(max_examples=300, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=6))
def test_a_batch_decodes_exactly_as_its_messages_one_by_one(batch: list[bytes | None]) -> None:
    table, errors = decode_transactions(batch)
    one_by_one = [decode_transaction(payload) for payload in batch]
    assert errors == [(i, d) for i, d in enumerate(one_by_one) if isinstance(d, DecodeError)]
    assert table.equals(transactions_table([d for d in one_by_one if not isinstance(d, DecodeError)]))


def test_a_valid_batch_is_parsed_whole_by_arrow() -> None:
    from riskloop_streaming.decoding import _parse_whole

    records = [sample_transaction(i) for i in range(500)]
    table = _parse_whole([encode_transaction(r) for r in records])
    assert table is not None and table.equals(transactions_table(records))
